"""PyTorch reference for SvdUNetGraphTest's cross-check of one SpatioTemporalResBlock and one
TransformerSpatioTemporalModel.

The modules are written from diffusers v0.29's resnet.py (ResnetBlock2D, TemporalResnetBlock,
SpatioTemporalResBlock, AlphaBlender), attention.py (BasicTransformerBlock, TemporalBasicTransformerBlock,
FeedForward with GEGLU), attention_processor.py (Attention) and transformer_temporal.py
(TransformerSpatioTemporalModel), using plain torch.nn modules with diffusers' attribute names, so the
state dict keys are the graph's parameter names.

usage: python3 svd_blocks_reference.py FIXTURE_DIR [REFERENCE_DIR]
SvdUNetGraphTest writes FIXTURE_DIR (target/svd-blocks-fixture) on every run; given REFERENCE_DIR
(src/test/resources/svd-blocks), the torch outputs are written there as res_out.bin and transformer_out.bin, the
references the test compares the graph with (the build never runs Python). FIXTURE_DIR holds manifest.txt ("name d0 d1 ..." per tensor) and NAME.bin (float32, little-endian) for each
parameter (linear weights stored [in, out], as the ONNX graph stores them) and for the inputs x, temb, context,
indicator and the graph's outputs res_out and transformer_out. Prints the largest absolute differences and
exits 1 when one exceeds the tolerance.
"""
import math
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

TOLERANCE = 1e-4


def timestep_embedding(t, dim):
    # Timesteps(dim, flip_sin_to_cos=True, downscale_freq_shift=0)
    half = dim // 2
    exponent = -math.log(10000) * torch.arange(half, dtype=torch.float32) / half
    args = t[:, None].float() * torch.exp(exponent)[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class TimestepEmbedding(nn.Module):
    def __init__(self, in_dim, hidden, out_dim):
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, hidden)
        self.act = nn.SiLU()
        self.linear_2 = nn.Linear(hidden, out_dim)

    def forward(self, x):
        return self.linear_2(self.act(self.linear_1(x)))


class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, temb, eps):
        super().__init__()
        self.norm1 = nn.GroupNorm(32, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(32, cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class TemporalResnetBlock(nn.Module):
    def __init__(self, c, temb, eps):
        super().__init__()
        self.norm1 = nn.GroupNorm(32, c, eps=eps)
        self.conv1 = nn.Conv3d(c, c, (3, 1, 1), padding=(1, 0, 0))
        self.time_emb_proj = nn.Linear(temb, c)
        self.norm2 = nn.GroupNorm(32, c, eps=eps)
        self.conv2 = nn.Conv3d(c, c, (3, 1, 1), padding=(1, 0, 0))

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        t = self.time_emb_proj(F.silu(temb))[:, :, :, None, None].permute(0, 2, 1, 3, 4)
        h = self.conv2(F.silu(self.norm2(h + t)))
        return x + h


class AlphaBlender(nn.Module):
    def __init__(self):
        super().__init__()
        self.mix_factor = nn.Parameter(torch.tensor([0.5]))

    def forward(self, spatial, temporal, indicator):
        alpha = torch.where(indicator.bool(), torch.ones(1, 1), torch.sigmoid(self.mix_factor)[..., None])
        alpha = alpha[:, None, :, None, None] if spatial.ndim == 5 else alpha.reshape(-1)[:, None, None]
        return alpha * spatial + (1.0 - alpha) * temporal


class SpatioTemporalResBlock(nn.Module):
    def __init__(self, cin, cout, temb, eps):
        super().__init__()
        self.spatial_res_block = ResnetBlock2D(cin, cout, temb, eps)
        self.temporal_res_block = TemporalResnetBlock(cout, temb, eps)
        self.time_mixer = AlphaBlender()

    def forward(self, x, temb, indicator):
        frames = indicator.shape[-1]
        h = self.spatial_res_block(x, temb)
        bf, c, height, width = h.shape
        video = h.reshape(bf // frames, frames, c, height, width).permute(0, 2, 1, 3, 4)
        temporal = self.temporal_res_block(video, temb.reshape(bf // frames, frames, -1))
        mixed = self.time_mixer(video, temporal, indicator)
        return mixed.permute(0, 2, 1, 3, 4).reshape(bf, c, height, width)


class Attention(nn.Module):
    def __init__(self, dim, context_dim, heads):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(context_dim, dim, bias=False)
        self.to_v = nn.Linear(context_dim, dim, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim)])

    def forward(self, x, context=None):
        context = x if context is None else context
        b, n, d = x.shape
        split = lambda t: t.reshape(b, t.shape[1], self.heads, d // self.heads).transpose(1, 2)
        q, k, v = split(self.to_q(x)), split(self.to_k(context)), split(self.to_v(context))
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // self.heads), dim=-1)
        return self.to_out[0]((weights @ v).transpose(1, 2).reshape(b, n, d))


class GEGLU(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, 2 * inner)

    def forward(self, x):
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim, dim_out):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, 4 * dim), nn.Dropout(0.0), nn.Linear(4 * dim, dim_out)])

    def forward(self, x):
        for module in self.net:
            x = module(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, context_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, context_dim, heads)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, dim)

    def forward(self, x, context):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class TemporalBasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, context_dim):
        super().__init__()
        self.norm_in = nn.LayerNorm(dim)
        self.ff_in = FeedForward(dim, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, context_dim, heads)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, dim)

    def forward(self, x, frames, context):
        bf, s, c = x.shape
        b = bf // frames
        x = x.reshape(b, frames, s, c).permute(0, 2, 1, 3).reshape(b * s, frames, c)
        x = self.ff_in(self.norm_in(x)) + x
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        x = self.ff(self.norm3(x)) + x
        return x.reshape(b, s, frames, c).permute(0, 2, 1, 3).reshape(b * frames, s, c)


class TransformerSpatioTemporalModel(nn.Module):
    def __init__(self, channels, heads, context_dim):
        super().__init__()
        self.norm = nn.GroupNorm(32, channels, eps=1e-6)
        self.proj_in = nn.Linear(channels, channels)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(channels, heads, context_dim)])
        self.temporal_transformer_blocks = nn.ModuleList([TemporalBasicTransformerBlock(channels, heads, context_dim)])
        self.time_pos_embed = TimestepEmbedding(channels, 4 * channels, channels)
        self.time_mixer = AlphaBlender()
        self.proj_out = nn.Linear(channels, channels)

    def forward(self, x, context, indicator):
        bf, c, height, width = x.shape
        frames = indicator.shape[-1]
        b = bf // frames
        time_context = context[None, :].reshape(b, frames, -1, context.shape[-1])[:, 0]
        time_context = time_context[:, None].broadcast_to(b, height * width, time_context.shape[-2],
                                                          time_context.shape[-1])
        time_context = time_context.reshape(b * height * width, -1, time_context.shape[-1])
        h = self.norm(x).permute(0, 2, 3, 1).reshape(bf, height * width, c)
        h = self.proj_in(h)
        positions = torch.arange(frames).repeat(b, 1).reshape(-1)
        emb = self.time_pos_embed(timestep_embedding(positions, c))[:, None, :]
        for block, temporal_block in zip(self.transformer_blocks, self.temporal_transformer_blocks):
            h = block(h, context)
            mixed = temporal_block(h + emb, frames, time_context)
            h = self.time_mixer(h, mixed, indicator)
        h = self.proj_out(h).reshape(bf, height, width, c).permute(0, 3, 1, 2)
        return h + x


def load(folder):
    tensors = {}
    for line in (folder / "manifest.txt").read_text().splitlines():
        name, *dims = line.split()
        data = np.fromfile(folder / (name + ".bin"), dtype="<f4")
        tensors[name] = torch.from_numpy(data.reshape([int(d) for d in dims]).copy())
    return tensors


def state_dict(tensors, prefix, module):
    """The parameters of module from tensors under prefix, linear weights transposed to torch's [out, in]."""
    state = {}
    for key, expected in module.state_dict().items():
        value = tensors[prefix + key]
        if isinstance(dict(module.named_modules()).get(key.rsplit(".", 1)[0]), nn.Linear) and key.endswith("weight"):
            value = value.t()
        if tuple(value.shape) != tuple(expected.shape):
            raise SystemExit(f"{prefix + key}: graph shape {tuple(value.shape)}, torch {tuple(expected.shape)}")
        state[key] = value
    unused = [n for n in tensors if n.startswith(prefix) and n[len(prefix):] not in state]
    if unused:
        raise SystemExit(f"graph parameters torch does not have: {unused}")
    return state


def main():
    folder = Path(sys.argv[1])
    t = load(folder)
    c_in, c_out = t["x"].shape[1], t["res_out"].shape[1]
    heads = int((folder / "heads.txt").read_text())
    res = SpatioTemporalResBlock(c_in, c_out, t["temb"].shape[1], 1e-6)
    res.load_state_dict(state_dict(t, "resnets.0.", res))
    transformer = TransformerSpatioTemporalModel(c_out, heads, t["context"].shape[-1])
    transformer.load_state_dict(state_dict(t, "attentions.0.", transformer))
    worst = 0.0
    with torch.no_grad():
        res_out = res(t["x"], t["temb"], t["indicator"])
        # the transformer is checked on the graph's own res block output, so its error is its own
        transformer_out = transformer(t["res_out"], t["context"], t["indicator"])
    for name, value in (("res_out", res_out), ("transformer_out", transformer_out)):
        if len(sys.argv) > 2:
            value.numpy().astype("<f4").tofile(Path(sys.argv[2]) / (name + ".bin"))
        error = (value - t[name]).abs().max().item()
        scale = t[name].abs().max().item()
        print(f"{name}: max |torch - onnx| = {error:.3g} (max |value| {scale:.3g})")
        worst = max(worst, error)
    sys.exit(0 if worst <= TOLERANCE else 1)


if __name__ == "__main__":
    main()
