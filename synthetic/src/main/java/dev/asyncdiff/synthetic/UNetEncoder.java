package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import java.util.ArrayList;
import java.util.List;

/**
 * The half of a diffusers {@code UNet2DConditionModel} that a {@code ControlNetModel} copies: the time
 * embedding (with the class and SDXL add embeddings), the down blocks and the mid block, in the
 * scopes and with the parameter names both models use. {@link UNetGraph} and {@link ControlNetGraph}
 * build through it, so the same config and seed give a ControlNet the UNet's encoder weights, as
 * diffusers' {@code ControlNetModel.from_unet} copies them.
 */
@SuppressWarnings("try") // scopes are opened for their names; the body never touches the guard
final class UNetEncoder {
    /** Standard deviation of {@code class_embedding}: of the order of the time embedding it is added to. */
    static final double CLASS_EMBEDDING_STD = 0.5;

    private UNetEncoder() {
    }

    /** A down-path value that an up block concatenates (a ControlNet projects it instead), and its channels. */
    record Skip(String value, int channels) {
    }

    /**
     * {@code time_proj} and {@code time_embedding} of {@code timestep} (expanded to the batch of
     * {@code sample}), plus {@code class_embedding(classLabels)} and SDXL's
     * {@code add_embedding([textEmbeds, add_time_proj(timeIds)])} where given ({@code null} otherwise).
     */
    static String timeEmbedding(Layers nn, UNetConfig cfg, String sample, String timestep, String classLabels,
                                String textEmbeds, String timeIds) {
        int tembDim = cfg.timeEmbedDim();
        int first = cfg.blockOutChannels().get(0);
        String temb;
        try (GraphBuilder.Scope s = nn.scope("time_proj")) {
            String batch = nn.op("Slice", List.of(nn.op("Shape", List.of(sample)), nn.longs(0), nn.longs(1)));
            String timesteps = nn.op("Expand", List.of(timestep, batch));
            temb = UNetGraph.sinusoidal(nn, timesteps, first);
        }
        try (GraphBuilder.Scope s = nn.scope("time_embedding")) {
            temb = nn.linear("linear_1", temb, first, tembDim, true, 1);
            temb = nn.linear("linear_2", nn.silu("act", temb), tembDim, tembDim, true, 1);
        }
        if (classLabels != null) {
            String classEmbedding;
            try (GraphBuilder.Scope s = nn.scope("class_embedding")) {
                String table = nn.parameter("weight", new long[] {cfg.numClassEmbeds(), tembDim}, CLASS_EMBEDDING_STD);
                classEmbedding = nn.op("Gather", List.of(table, classLabels), Attr.i("axis", 0));
            }
            temb = nn.add(temb, classEmbedding);
        }
        if (textEmbeds != null) {
            String timeEmbeds;
            try (GraphBuilder.Scope s = nn.scope("add_time_proj")) {
                String flat = nn.op("Reshape", List.of(nn.op("Cast", List.of(timeIds),
                        Attr.i("to", UNetGraph.onnxType(DType.FP32))), nn.longs(-1)));
                timeEmbeds = UNetGraph.sinusoidal(nn, flat, cfg.additionTimeEmbedDim());
                timeEmbeds = nn.op("Reshape", List.of(timeEmbeds,
                        nn.longs(-1, (long) UNetConfig.TIME_IDS * cfg.additionTimeEmbedDim())));
            }
            String addEmbeds = nn.op("Concat", List.of(textEmbeds, timeEmbeds), Attr.i("axis", -1));
            try (GraphBuilder.Scope s = nn.scope("add_embedding")) {
                String aug = nn.linear("linear_1", addEmbeds, cfg.projectionClassEmbeddingsInputDim(), tembDim, true, 1);
                aug = nn.linear("linear_2", nn.silu("act", aug), tembDim, tembDim, true, 1);
                temb = nn.add(temb, aug);
            }
        }
        return temb;
    }

    /**
     * The down blocks over {@code h}, the output of {@code conv_in} (plus a ControlNet's conditioning):
     * every down residual in diffusers' order, starting with {@code h} itself, then each ResNet (or
     * its attention) and each downsampler. The last is the input of the mid block; there are
     * {@link UNetConfig#downResidualChannels()} of them.
     */
    static List<Skip> downBlocks(Layers nn, UNetConfig cfg, String h, String temb, String context) {
        List<Integer> channels = cfg.blockOutChannels();
        int levels = cfg.levels();
        List<Skip> skips = new ArrayList<>();
        skips.add(new Skip(h, channels.get(0)));
        int current = channels.get(0);
        for (int level = 0; level < levels; level++) {
            int out = channels.get(level);
            try (GraphBuilder.Scope block = nn.scope("down_blocks." + level)) {
                for (int j = 0; j < cfg.layersPerBlock(); j++) {
                    try (GraphBuilder.Scope r = nn.scope("resnets." + j)) {
                        h = nn.resnet(h, temb, current, out, cfg.timeEmbedDim(), cfg.normNumGroups(), cfg.normEps());
                    }
                    current = out;
                    if (cfg.hasCrossAttention(level)) {
                        h = attention(nn, cfg, j, h, context, out, level);
                    }
                    skips.add(new Skip(h, out));
                }
                if (level < levels - 1) {
                    h = nn.downsample(h, out);
                    skips.add(new Skip(h, out));
                }
            }
        }
        return skips;
    }

    /** {@code mid_block}: ResNet, Transformer2D (attn1 always self-attention), ResNet, at the deepest level. */
    static String midBlock(Layers nn, UNetConfig cfg, String h, String temb, String context) {
        int levels = cfg.levels();
        int deepest = cfg.blockOutChannels().get(levels - 1);
        int tembDim = cfg.timeEmbedDim();
        try (GraphBuilder.Scope mid = nn.scope("mid_block")) {
            try (GraphBuilder.Scope r = nn.scope("resnets.0")) {
                h = nn.resnet(h, temb, deepest, deepest, tembDim, cfg.normNumGroups(), cfg.normEps());
            }
            try (GraphBuilder.Scope a = nn.scope("attentions.0")) {
                // diffusers' UNetMidBlock2DCrossAttn takes no only_cross_attention: attn1 is self-attention
                h = nn.transformer2d(h, context, deepest, cfg.crossAttentionDim(), cfg.attentionHeadDim().get(levels - 1),
                        cfg.transformerLayersPerBlock().get(levels - 1), cfg.useLinearProjection(), false,
                        cfg.normNumGroups());
            }
            try (GraphBuilder.Scope r = nn.scope("resnets.1")) {
                h = nn.resnet(h, temb, deepest, deepest, tembDim, cfg.normNumGroups(), cfg.normEps());
            }
        }
        return h;
    }

    /** The Transformer2D {@code attentions.index} of a down or up block of {@code level}. */
    static String attention(Layers nn, UNetConfig cfg, int index, String h, String context, int channels, int level) {
        try (GraphBuilder.Scope a = nn.scope("attentions." + index)) {
            return nn.transformer2d(h, context, channels, cfg.crossAttentionDim(), cfg.attentionHeadDim().get(level),
                    cfg.transformerLayersPerBlock().get(level), cfg.useLinearProjection(), cfg.crossAttentionOnly(level),
                    cfg.normNumGroups());
        }
    }
}
