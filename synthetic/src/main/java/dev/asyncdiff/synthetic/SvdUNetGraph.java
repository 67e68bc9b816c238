package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import dev.asyncdiff.onnx.graph.Initializer;
import dev.asyncdiff.onnx.graph.OnnxWriter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/**
 * The ONNX graph of Stable Video Diffusion's {@code UNetSpatioTemporalConditionModel}, laid out as a torch export
 * of diffusers' module tree: inputs {@code sample} {@code [batch, num_frames, in_channels, height, width]},
 * {@code timestep} (float32 {@code [1]}), {@code encoder_hidden_states} {@code [batch, 1, cross_attention_dim]}
 * (the CLIP image embedding) and {@code added_time_ids} {@code [batch, 3]} (fps, motion bucket id, noise
 * augmentation strength); output {@code out_sample} {@code [batch, num_frames, out_channels, height, width]}.
 * Batch, frame count, height and width are symbolic: the batch and frame counts are read from {@code sample}'s
 * shape at run time, so one graph runs any number of frames. Height and width are multiples of
 * {@link SvdUNetConfig#sizeMultiple()}. The video pieces are {@link SpatioTemporalBlocks}'.
 */
@SuppressWarnings("try") // scopes are opened for their names; the body never touches the guard
public final class SvdUNetGraph {
    private SvdUNetGraph() {
    }

    /**
     * Builds the UNet of {@code cfg} with weights from {@code weights}; nothing is written until
     * {@link GraphBuilder#write}, so a full-scale graph can be built to count its parameters.
     *
     * @throws IllegalArgumentException when {@code dtype} is not FP32 or FP16
     */
    public static GraphBuilder build(SvdUNetConfig cfg, Weights weights, DType dtype) {
        GraphBuilder graph = new GraphBuilder("unet");
        Layers nn = new Layers(graph, weights, dtype);
        String sample = graph.input("sample", dtype, "batch", "num_frames", cfg.inChannels(), "height", "width");
        String timestep = graph.input("timestep", DType.FP32, 1);
        String context = graph.input("encoder_hidden_states", dtype, "batch", 1, cfg.crossAttentionDim());
        String timeIds = graph.input("added_time_ids", dtype, "batch", SvdUNetConfig.TIME_IDS);

        String sampleShape = nn.op("Shape", List.of(sample));
        String batch = nn.op("Gather", List.of(sampleShape, nn.longs(0)), Attr.i("axis", 0));
        String frames = nn.op("Gather", List.of(sampleShape, nn.longs(1)), Attr.i("axis", 0));
        String temb = timeEmbedding(nn, cfg, timestep, timeIds, batch);

        String images = nn.op("Reshape", List.of(sample, concat(nn, nn.longs(-1),
                nn.op("Slice", List.of(sampleShape, nn.longs(2), nn.longs(5))))));
        String frameTemb = nn.op("Reshape", List.of(repeatFrames(nn, temb, frames, 2),
                nn.longs(-1, cfg.timeEmbedDim())));
        String frameContext = nn.op("Reshape", List.of(repeatFrames(nn, context, frames, 3),
                nn.longs(-1, 1, cfg.crossAttentionDim())));

        int first = cfg.blockOutChannels().get(0);
        String h = nn.conv("conv_in", images, cfg.inChannels(), first, 3, 1, 1, 1);
        // every frame is part of a video: image_only_indicator is all zeros, as the SVD pipeline passes it
        Initializer zero = new Initializer("value", dtype, new long[] {1}, Weights.filled(dtype, new long[] {1}, 0f));
        String indicator = nn.op("ConstantOfShape", List.of(concat(nn, batch, frames)),
                Attr.tensor("value", OnnxWriter.inline(zero).toBuilder().clearName().build()));
        SpatioTemporalBlocks video = new SpatioTemporalBlocks(nn, cfg, frameTemb, frameContext, indicator);

        List<UNetEncoder.Skip> down = downBlocks(nn, video, cfg, h);
        Deque<UNetEncoder.Skip> skips = new ArrayDeque<>();
        down.forEach(skips::push);
        h = midBlock(nn, video, cfg, down.get(down.size() - 1).value());
        h = upBlocks(nn, video, cfg, h, skips);

        h = nn.silu("conv_act", nn.groupNorm("conv_norm_out", h, first, SvdUNetConfig.NORM_GROUPS, 1e-5));
        h = nn.conv("conv_out", h, first, cfg.outChannels(), 3, 1, 1, UNetGraph.CONV_OUT_GAIN);
        String videoShape = concat(nn, batch, frames, nn.op("Slice", List.of(nn.op("Shape", List.of(h)), nn.longs(1),
                nn.longs(4))));
        String out = graph.namedOp("Reshape", List.of(h, videoShape), "out_sample");
        graph.output(out, dtype, "batch", "num_frames", cfg.outChannels(), "height", "width");
        return graph;
    }

    /**
     * {@code time_proj} and {@code time_embedding} of {@code timestep} expanded to {@code batch}, plus
     * {@code add_embedding} of the sinusoidal {@code add_time_proj} of each of the {@code added_time_ids}:
     * {@code [batch, time_embed_dim]}.
     */
    private static String timeEmbedding(Layers nn, SvdUNetConfig cfg, String timestep, String timeIds, String batch) {
        int first = cfg.blockOutChannels().get(0);
        int tembDim = cfg.timeEmbedDim();
        String temb;
        try (GraphBuilder.Scope s = nn.scope("time_proj")) {
            temb = UNetGraph.sinusoidal(nn, nn.op("Expand", List.of(timestep, batch)), first);
        }
        try (GraphBuilder.Scope s = nn.scope("time_embedding")) {
            temb = nn.linear("linear_1", temb, first, tembDim, true, 1);
            temb = nn.linear("linear_2", nn.silu("act", temb), tembDim, tembDim, true, 1);
        }
        String timeEmbeds;
        try (GraphBuilder.Scope s = nn.scope("add_time_proj")) {
            String flat = nn.op("Reshape", List.of(nn.op("Cast", List.of(timeIds),
                    Attr.i("to", UNetGraph.onnxType(DType.FP32))), nn.longs(-1)));
            timeEmbeds = UNetGraph.sinusoidal(nn, flat, cfg.additionTimeEmbedDim());
        }
        timeEmbeds = nn.op("Reshape", List.of(timeEmbeds, concat(nn, batch, nn.longs(-1))));
        try (GraphBuilder.Scope s = nn.scope("add_embedding")) {
            String aug = nn.linear("linear_1", timeEmbeds, cfg.projectionClassEmbeddingsInputDim(), tembDim, true, 1);
            aug = nn.linear("linear_2", nn.silu("act", aug), tembDim, tembDim, true, 1);
            return nn.add(temb, aug);
        }
    }

    /**
     * {@code repeat_interleave(frames, dim=0)} of {@code x} of {@code rank}, before the final reshape: each sample
     * repeated along a new axis 1, {@code [batch, frames, ...]}.
     */
    private static String repeatFrames(Layers nn, String x, String frames, int rank) {
        long[] ones = new long[rank - 1];
        Arrays.fill(ones, 1);
        String expanded = nn.op("Unsqueeze", List.of(x, nn.longs(1)));
        return nn.op("Expand", List.of(expanded, concat(nn, nn.longs(1), frames, nn.longs(ones))));
    }

    /**
     * The down blocks over {@code h}, {@code conv_in}'s output: every value an up block concatenates, in diffusers'
     * order (starting with {@code h}, then each res block, with its transformer, and each downsampler); the last
     * is the mid block's input.
     */
    private static List<UNetEncoder.Skip> downBlocks(Layers nn, SpatioTemporalBlocks video, SvdUNetConfig cfg,
                                                     String h) {
        List<Integer> channels = cfg.blockOutChannels();
        List<UNetEncoder.Skip> skips = new ArrayList<>();
        skips.add(new UNetEncoder.Skip(h, channels.get(0)));
        int current = channels.get(0);
        for (int level = 0; level < cfg.levels(); level++) {
            int out = channels.get(level);
            try (GraphBuilder.Scope block = nn.scope("down_blocks." + level)) {
                for (int j = 0; j < cfg.layersPerBlock(); j++) {
                    try (GraphBuilder.Scope r = nn.scope("resnets." + j)) {
                        h = video.resBlock(h, current, out, cfg.downResnetEps(level));
                    }
                    current = out;
                    if (cfg.hasCrossAttention(level)) {
                        h = attention(nn, video, cfg, j, h, level);
                    }
                    skips.add(new UNetEncoder.Skip(h, out));
                }
                if (level < cfg.levels() - 1) {
                    h = nn.downsample(h, out);
                    skips.add(new UNetEncoder.Skip(h, out));
                }
            }
        }
        return skips;
    }

    /** {@code UNetMidBlockSpatioTemporal}: res block, spatio-temporal transformer, res block, at the deepest level. */
    private static String midBlock(Layers nn, SpatioTemporalBlocks video, SvdUNetConfig cfg, String h) {
        int deepest = cfg.levels() - 1;
        int channels = cfg.blockOutChannels().get(deepest);
        try (GraphBuilder.Scope mid = nn.scope("mid_block")) {
            try (GraphBuilder.Scope r = nn.scope("resnets.0")) {
                h = video.resBlock(h, channels, channels, SvdUNetConfig.MID_RESNET_EPS);
            }
            h = attention(nn, video, cfg, 0, h, deepest);
            try (GraphBuilder.Scope r = nn.scope("resnets.1")) {
                return video.resBlock(h, channels, channels, SvdUNetConfig.MID_RESNET_EPS);
            }
        }
    }

    /** The up blocks, deepest first, each res block taking the next of {@code skips} (popped, last pushed first). */
    private static String upBlocks(Layers nn, SpatioTemporalBlocks video, SvdUNetConfig cfg, String h,
                                   Deque<UNetEncoder.Skip> skips) {
        int levels = cfg.levels();
        int current = cfg.blockOutChannels().get(levels - 1);
        for (int i = 0; i < levels; i++) {
            int level = levels - 1 - i;
            int out = cfg.blockOutChannels().get(level);
            try (GraphBuilder.Scope block = nn.scope("up_blocks." + i)) {
                for (int j = 0; j <= cfg.layersPerBlock(); j++) {
                    UNetEncoder.Skip skip = skips.pop();
                    h = nn.op("Concat", List.of(h, skip.value()), Attr.i("axis", 1));
                    try (GraphBuilder.Scope r = nn.scope("resnets." + j)) {
                        h = video.resBlock(h, current + skip.channels(), out, SvdUNetConfig.UP_RESNET_EPS);
                    }
                    current = out;
                    if (cfg.hasCrossAttention(level)) {
                        h = attention(nn, video, cfg, j, h, level);
                    }
                }
                if (i < levels - 1) {
                    h = nn.upsample(h, out);
                }
            }
        }
        return h;
    }

    /** The {@code TransformerSpatioTemporalModel} {@code attentions.index} of a block of {@code level}. */
    private static String attention(Layers nn, SpatioTemporalBlocks video, SvdUNetConfig cfg, int index, String h,
                                    int level) {
        try (GraphBuilder.Scope a = nn.scope("attentions." + index)) {
            return video.transformer(h, cfg.blockOutChannels().get(level), cfg.numAttentionHeads().get(level),
                    cfg.transformerLayersPerBlock().get(level));
        }
    }

    private static String concat(Layers nn, String... parts) {
        return nn.op("Concat", List.of(parts), Attr.i("axis", 0));
    }
}
