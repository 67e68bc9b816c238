package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/**
 * The ONNX graph of a diffusers {@code UNetMotionModel} (AnimateDiff): inputs {@code sample}
 * {@code [batch, 4, num_frames, height, width]}, {@code timestep} (a float32 scalar) and
 * {@code encoder_hidden_states} {@code [batch, 77, cross_attention_dim]}, one per video; output
 * {@code out_sample} {@code [batch, 4, num_frames, height, width]}. As in {@code UNetMotionModel.forward}, the
 * frame count is read from {@code sample}'s shape at run time, the frames are folded into the batch
 * ({@code [batch*num_frames, 4, height, width]}, video-major), and the time embedding and text states are repeated
 * for each frame ({@code repeat_interleave}). The spatial layers are {@link UNetGraph}'s, in the same scopes and so
 * with the same parameter names and values for the same seed; a {@link TemporalTransformer} motion module
 * ({@code down_blocks.0.motion_modules.0}, …) follows each ResNet and attention pair of the down and up blocks and,
 * with {@link MotionUNetConfig#useMotionMidBlock()}, the mid block's attention. Nodes keep the torch export's
 * {@code /down_blocks.0/...} names, so a planner can cut between indexed blocks.
 */
@SuppressWarnings("try") // scopes are opened for their names; the body never touches the guard
public final class MotionUNetGraph {
    private MotionUNetGraph() {
    }

    /**
     * Builds the motion UNet of {@code cfg} with weights from {@code weights}; nothing is written until
     * {@link GraphBuilder#write}.
     *
     * @throws IllegalArgumentException when {@code dtype} is not FP32 or FP16
     */
    public static GraphBuilder build(MotionUNetConfig cfg, Weights weights, DType dtype) {
        UNetConfig unet = cfg.unet();
        GraphBuilder graph = new GraphBuilder("unet");
        Layers nn = new Layers(graph, weights, dtype);
        String sample = graph.input("sample", dtype, "batch", unet.inChannels(), "num_frames", "height", "width");
        String timestep = graph.input("timestep", DType.FP32);
        String context = graph.input("encoder_hidden_states", dtype, "batch", unet.sequenceLength(),
                unet.crossAttentionDim());

        String sampleShape = nn.op("Shape", List.of(sample));
        String frames = nn.op("Slice", List.of(sampleShape, nn.longs(2), nn.longs(3)));
        String spatial = nn.op("Slice", List.of(sampleShape, nn.longs(3), nn.longs(5)));
        String images = nn.op("Transpose", List.of(sample), Attr.ints("perm", 0, 2, 1, 3, 4));
        images = nn.op("Reshape", List.of(images, concat(nn, nn.longs(-1, unet.inChannels()), spatial)));

        String temb = UNetEncoder.timeEmbedding(nn, unet, sample, timestep, null, null, null);
        temb = repeatPerFrame(nn, temb, frames, unet.timeEmbedDim());
        context = repeatPerFrame(nn, context, frames, unet.sequenceLength(), unet.crossAttentionDim());

        Blocks blocks = new Blocks(nn, cfg, temb, context, frames);
        String h = nn.conv("conv_in", images, unet.inChannels(), unet.blockOutChannels().get(0), 3, 1, 1, 1);
        h = blocks.up(blocks.mid(blocks.down(h)));

        int last = unet.blockOutChannels().get(0);
        h = nn.silu("conv_act", nn.groupNorm("conv_norm_out", h, last, unet.normNumGroups(), unet.normEps()));
        h = nn.conv("conv_out", h, last, unet.outChannels(), 3, 1, 1, UNetGraph.CONV_OUT_GAIN);
        String video = nn.op("Reshape", List.of(h, concat(nn, nn.longs(-1), frames, nn.longs(unet.outChannels()),
                spatial)));
        graph.namedOp("Transpose", List.of(video), "out_sample", Attr.ints("perm", 0, 2, 1, 3, 4));
        graph.output("out_sample", dtype, "batch", unet.outChannels(), "num_frames", "height", "width");
        return graph;
    }

    /** {@code x.repeat_interleave(frames, dim=0)} of {@code x} {@code [batch, dims...]}: each row repeated, in place. */
    private static String repeatPerFrame(Layers nn, String x, String frames, long... dims) {
        long[] ones = new long[dims.length];
        Arrays.fill(ones, 1);
        String expanded = nn.op("Expand", List.of(nn.op("Unsqueeze", List.of(x, nn.longs(1))),
                concat(nn, nn.longs(1), frames, nn.longs(ones))));
        long[] flat = new long[dims.length + 1];
        flat[0] = -1;
        System.arraycopy(dims, 0, flat, 1, dims.length);
        return nn.op("Reshape", List.of(expanded, nn.longs(flat)));
    }

    private static String concat(Layers nn, String... parts) {
        return nn.op("Concat", List.of(parts), Attr.i("axis", 0));
    }

    /** The down, mid and up blocks of one graph, sharing its embeddings, text states and frame count. */
    private static final class Blocks {
        private final Layers nn;
        private final MotionUNetConfig cfg;
        private final UNetConfig unet;
        private final String temb;
        private final String context;
        private final String frames;
        private final Deque<UNetEncoder.Skip> skips = new ArrayDeque<>();

        Blocks(Layers nn, MotionUNetConfig cfg, String temb, String context, String frames) {
            this.nn = nn;
            this.cfg = cfg;
            this.unet = cfg.unet();
            this.temb = temb;
            this.context = context;
            this.frames = frames;
        }

        /** {@code CrossAttnDownBlockMotion} and {@code DownBlockMotion}: ResNet, attention, motion module; downsampler. */
        String down(String h) {
            List<Integer> channels = unet.blockOutChannels();
            List<UNetEncoder.Skip> down = new ArrayList<>();
            down.add(new UNetEncoder.Skip(h, channels.get(0)));
            int current = channels.get(0);
            for (int level = 0; level < unet.levels(); level++) {
                int out = channels.get(level);
                try (GraphBuilder.Scope block = nn.scope("down_blocks." + level)) {
                    for (int j = 0; j < unet.layersPerBlock(); j++) {
                        try (GraphBuilder.Scope r = nn.scope("resnets." + j)) {
                            h = nn.resnet(h, temb, current, out, unet.timeEmbedDim(), unet.normNumGroups(),
                                    unet.normEps());
                        }
                        current = out;
                        if (unet.hasCrossAttention(level)) {
                            h = UNetEncoder.attention(nn, unet, j, h, context, out, level);
                        }
                        h = motion(j, h, out);
                        down.add(new UNetEncoder.Skip(h, out));
                    }
                    if (level < unet.levels() - 1) {
                        h = nn.downsample(h, out);
                        down.add(new UNetEncoder.Skip(h, out));
                    }
                }
            }
            down.forEach(skips::push);
            return h;
        }

        /** {@code UNetMidBlockCrossAttnMotion}: ResNet, attention, motion module (if configured), ResNet. */
        String mid(String h) {
            if (!cfg.useMotionMidBlock()) {
                return UNetEncoder.midBlock(nn, unet, h, temb, context);
            }
            int levels = unet.levels();
            int deepest = unet.blockOutChannels().get(levels - 1);
            try (GraphBuilder.Scope mid = nn.scope("mid_block")) {
                try (GraphBuilder.Scope r = nn.scope("resnets.0")) {
                    h = nn.resnet(h, temb, deepest, deepest, unet.timeEmbedDim(), unet.normNumGroups(), unet.normEps());
                }
                try (GraphBuilder.Scope a = nn.scope("attentions.0")) {
                    h = nn.transformer2d(h, context, deepest, unet.crossAttentionDim(),
                            unet.attentionHeadDim().get(levels - 1), unet.transformerLayersPerBlock().get(levels - 1),
                            unet.useLinearProjection(), false, unet.normNumGroups());
                }
                h = motion(0, h, deepest);
                try (GraphBuilder.Scope r = nn.scope("resnets.1")) {
                    h = nn.resnet(h, temb, deepest, deepest, unet.timeEmbedDim(), unet.normNumGroups(), unet.normEps());
                }
            }
            return h;
        }

        /** {@code CrossAttnUpBlockMotion} and {@code UpBlockMotion}: skip concat, ResNet, attention, motion module; upsampler. */
        String up(String h) {
            List<Integer> channels = unet.blockOutChannels();
            int levels = unet.levels();
            int current = channels.get(levels - 1);
            for (int i = 0; i < levels; i++) {
                int level = levels - 1 - i;
                int out = channels.get(level);
                try (GraphBuilder.Scope block = nn.scope("up_blocks." + i)) {
                    for (int j = 0; j <= unet.layersPerBlock(); j++) {
                        UNetEncoder.Skip skip = skips.pop();
                        h = nn.op("Concat", List.of(h, skip.value()), Attr.i("axis", 1));
                        try (GraphBuilder.Scope r = nn.scope("resnets." + j)) {
                            h = nn.resnet(h, temb, current + skip.channels(), out, unet.timeEmbedDim(),
                                    unet.normNumGroups(), unet.normEps());
                        }
                        current = out;
                        if (unet.hasCrossAttention(level)) {
                            h = UNetEncoder.attention(nn, unet, j, h, context, out, level);
                        }
                        h = motion(j, h, out);
                    }
                    if (i < levels - 1) {
                        h = nn.upsample(h, out);
                    }
                }
            }
            return h;
        }

        private String motion(int index, String h, int channels) {
            try (GraphBuilder.Scope m = nn.scope("motion_modules." + index)) {
                return TemporalTransformer.apply(nn, h, frames, channels, cfg.motionNumAttentionHeads(),
                        cfg.motionNormNumGroups(), cfg.maxFrames());
            }
        }
    }
}
