package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import java.util.List;

/**
 * The ONNX graph of the {@code TemporalDecoder} of diffusers' {@code AutoencoderKLTemporalDecoder} (Stable
 * Video Diffusion's VAE) as a video export lays it out: inputs {@code latent_sample}
 * {@code [frames, latent, h, w]} (the latents of one clip's chunk of frames, already divided by the scaling
 * factor) and {@code num_frames} (int64 {@code [1]}, how many frames that chunk holds); output {@code sample}
 * {@code [frames, 3, 8h, 8w]}. Frames are decoded as a batch by the spatial layers and mixed along time by each
 * block's {@code temporal_res_block} and by {@code time_conv_out}, so a frame's pixels depend on its neighbours.
 * The model has no {@code post_quant_conv}. The encoder half is SD's, written by {@link VaeGraphs#encoder} from
 * {@link TemporalVaeConfig#encoderConfig()}. Parameters are named as in diffusers
 * ({@code decoder.up_blocks.0.resnets.1.temporal_res_block.conv1.weight}).
 */
@SuppressWarnings("try") // scopes are opened for their names; the body never touches the guard
public final class TemporalVaeGraph {
    private static final double EPS = 1e-6;
    private static final double TEMPORAL_EPS = 1e-5;

    private TemporalVaeGraph() {
    }

    /**
     * The temporal decoder. {@code latent_sample}'s first dimension must be a multiple of {@code num_frames}
     * (equal to it for one clip); the frame count is read at run time, so one graph decodes chunks of any length.
     *
     * @throws IllegalArgumentException when {@code dtype} is not FP32 or FP16
     */
    public static GraphBuilder decoder(TemporalVaeConfig cfg, Weights weights, DType dtype) {
        GraphBuilder graph = new GraphBuilder("vae_decoder");
        Layers nn = new Layers(graph, weights, dtype);
        List<Integer> channels = cfg.blockOutChannels();
        int groups = TemporalVaeConfig.NORM_GROUPS;
        int levels = channels.size();
        String h = graph.input("latent_sample", dtype, "frames", cfg.latentChannels(), "latent_height",
                "latent_width");
        String numFrames = graph.input("num_frames", DType.INT64, 1);
        TemporalLayers video = new TemporalLayers(nn, numFrames);
        String out;
        try (GraphBuilder.Scope d = nn.scope("decoder")) {
            int current = channels.get(levels - 1);
            h = nn.conv("conv_in", h, cfg.latentChannels(), current, 3, 1, 1, 1);
            h = midBlock(nn, video, h, current, cfg.layersPerBlock());
            for (int i = 0; i < levels; i++) {
                int outChannels = channels.get(levels - 1 - i);
                try (GraphBuilder.Scope block = nn.scope("up_blocks." + i)) {
                    for (int j = 0; j <= cfg.layersPerBlock(); j++) {
                        try (GraphBuilder.Scope r = nn.scope("resnets." + j)) {
                            h = video.spatioTemporalResBlock(h, current, outChannels, groups, EPS, TEMPORAL_EPS);
                        }
                        current = outChannels;
                    }
                    if (i < levels - 1) {
                        h = nn.upsample(h, outChannels);
                    }
                }
            }
            h = nn.silu("conv_act", nn.groupNorm("conv_norm_out", h, current, groups, EPS));
            String frames = nn.conv("conv_out", h, current, cfg.outChannels(), 3, 1, 1, 1);
            String mixed = nn.temporalConv("time_conv_out", video.toVideo(frames), cfg.outChannels(),
                    cfg.outChannels(), null);
            out = video.toFrames(mixed, frames, "sample");
        }
        graph.output(out, dtype, "frames", cfg.outChannels(), "height", "width");
        return graph;
    }

    /**
     * The parameters of the whole {@code AutoencoderKLTemporalDecoder} as its exported graphs hold them: encoder,
     * {@code quant_conv} and temporal decoder, counted from the builders without producing any weight. With
     * {@code layers_per_block} 2 (SVD's) that is diffusers' {@code num_parameters()}; other values leave out the
     * mid-block modules diffusers builds but never runs (see {@link #decoder}).
     */
    public static long parameterCount(TemporalVaeConfig cfg) {
        Weights unused = new Weights(0);
        return VaeGraphs.encoder(cfg.encoderConfig(), unused, DType.FP16).parameterCount()
                + decoder(cfg, unused, DType.FP16).parameterCount();
    }

    /**
     * {@code MidBlockTemporalDecoder}: {@code resnets.0}, then the single-head {@code attentions.0} and
     * {@code resnets.1}. diffusers pairs the later ResNets with its one attention by {@code zip}, so with
     * {@code layers_per_block} 1 the attention never runs and beyond 2 the extra ResNets never run; an export
     * drops them, and so does this graph.
     */
    private static String midBlock(Layers nn, TemporalLayers video, String x, int channels, int layers) {
        int groups = TemporalVaeConfig.NORM_GROUPS;
        try (GraphBuilder.Scope mid = nn.scope("mid_block")) {
            String h;
            try (GraphBuilder.Scope r = nn.scope("resnets.0")) {
                h = video.spatioTemporalResBlock(x, channels, channels, groups, EPS, TEMPORAL_EPS);
            }
            if (layers < 2) {
                return h;
            }
            try (GraphBuilder.Scope a = nn.scope("attentions.0")) {
                h = nn.spatialSelfAttention(h, channels, groups, EPS);
            }
            try (GraphBuilder.Scope r = nn.scope("resnets.1")) {
                return video.spatioTemporalResBlock(h, channels, channels, groups, EPS, TEMPORAL_EPS);
            }
        }
    }
}
