package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import java.util.List;

/**
 * The ONNX graphs of a diffusers {@code AutoencoderKL}'s two halves as the standard export lays
 * them out: the encoder with {@code quant_conv} ({@code sample} to {@code latent_parameters}, the
 * mean and log-variance of the latent distribution) and the decoder with {@code post_quant_conv}
 * ({@code latent_sample} to {@code sample}); SD 3's VAE has neither quant conv. Parameters are named as in diffusers
 * ({@code encoder.down_blocks.0.resnets.0.conv1.weight}, {@code post_quant_conv.weight}).
 */
@SuppressWarnings("try") // scopes are opened for their names; the body never touches the guard
public final class VaeGraphs {
    private static final double EPS = 1e-6;

    private VaeGraphs() {
    }

    /**
     * The encoder: {@code sample} {@code [batch, 3, height, width]} (height and width multiples of
     * {@link VaeConfig#downscaleFactor()}) to {@code latent_parameters} {@code [batch, 2*latent, height/8, width/8]}.
     *
     * @throws IllegalArgumentException when {@code dtype} is not FP32 or FP16
     */
    public static GraphBuilder encoder(VaeConfig cfg, Weights weights, DType dtype) {
        GraphBuilder graph = new GraphBuilder("vae_encoder");
        Layers nn = new Layers(graph, weights, dtype);
        List<Integer> channels = cfg.blockOutChannels();
        int groups = cfg.normNumGroups();
        int levels = channels.size();
        int moments = 2 * cfg.latentChannels();
        String h = graph.input("sample", dtype, "batch", cfg.inChannels(), "height", "width");
        try (GraphBuilder.Scope e = nn.scope("encoder")) {
            h = nn.conv("conv_in", h, cfg.inChannels(), channels.get(0), 3, 1, 1, 1);
            int current = channels.get(0);
            for (int level = 0; level < levels; level++) {
                int out = channels.get(level);
                try (GraphBuilder.Scope block = nn.scope("down_blocks." + level)) {
                    for (int j = 0; j < cfg.layersPerBlock(); j++) {
                        try (GraphBuilder.Scope r = nn.scope("resnets." + j)) {
                            h = nn.resnet(h, null, current, out, 0, groups, EPS);
                        }
                        current = out;
                    }
                    if (level < levels - 1) {
                        h = nn.asymmetricDownsample(h, out);
                    }
                }
            }
            h = midBlock(nn, h, current, groups);
            h = nn.silu("conv_act", nn.groupNorm("conv_norm_out", h, current, groups, EPS));
            h = nn.conv("conv_out", h, current, moments, 3, 1, 1, 1, cfg.quantConv() ? null : "latent_parameters");
        }
        String out = cfg.quantConv() ? nn.conv("quant_conv", h, moments, moments, 1, 1, 0, 1, "latent_parameters") : h;
        graph.output(out, dtype, "batch", moments, "latent_height", "latent_width");
        return graph;
    }

    /**
     * The decoder: {@code latent_sample} {@code [batch, latent, height, width]} to {@code sample}
     * {@code [batch, 3, 8*height, 8*width]}.
     *
     * @throws IllegalArgumentException when {@code dtype} is not FP32 or FP16
     */
    public static GraphBuilder decoder(VaeConfig cfg, Weights weights, DType dtype) {
        GraphBuilder graph = new GraphBuilder("vae_decoder");
        Layers nn = new Layers(graph, weights, dtype);
        List<Integer> channels = cfg.blockOutChannels();
        int groups = cfg.normNumGroups();
        int levels = channels.size();
        int latent = cfg.latentChannels();
        String h = graph.input("latent_sample", dtype, "batch", latent, "height", "width");
        if (cfg.quantConv()) {
            h = nn.conv("post_quant_conv", h, latent, latent, 1, 1, 0, 1);
        }
        String out;
        try (GraphBuilder.Scope d = nn.scope("decoder")) {
            int current = channels.get(levels - 1);
            h = nn.conv("conv_in", h, latent, current, 3, 1, 1, 1);
            h = midBlock(nn, h, current, groups);
            for (int i = 0; i < levels; i++) {
                int outChannels = channels.get(levels - 1 - i);
                try (GraphBuilder.Scope block = nn.scope("up_blocks." + i)) {
                    for (int j = 0; j <= cfg.layersPerBlock(); j++) {
                        try (GraphBuilder.Scope r = nn.scope("resnets." + j)) {
                            h = nn.resnet(h, null, current, outChannels, 0, groups, EPS);
                        }
                        current = outChannels;
                    }
                    if (i < levels - 1) {
                        h = nn.upsample(h, outChannels);
                    }
                }
            }
            h = nn.silu("conv_act", nn.groupNorm("conv_norm_out", h, current, groups, EPS));
            out = nn.conv("conv_out", h, current, cfg.outChannels(), 3, 1, 1, 1, "sample");
        }
        graph.output(out, dtype, "batch", cfg.outChannels(), "image_height", "image_width");
        return graph;
    }

    /** {@code UNetMidBlock2D}: a ResNet, single-head spatial self-attention, a ResNet. */
    private static String midBlock(Layers nn, String x, int channels, int groups) {
        try (GraphBuilder.Scope mid = nn.scope("mid_block")) {
            String h;
            try (GraphBuilder.Scope r = nn.scope("resnets.0")) {
                h = nn.resnet(x, null, channels, channels, 0, groups, EPS);
            }
            try (GraphBuilder.Scope a = nn.scope("attentions.0")) {
                h = nn.spatialSelfAttention(h, channels, groups, EPS);
            }
            try (GraphBuilder.Scope r = nn.scope("resnets.1")) {
                return nn.resnet(h, null, channels, channels, 0, groups, EPS);
            }
        }
    }
}
