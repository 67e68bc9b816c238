package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The video pieces of diffusers' {@code UNetSpatioTemporalConditionModel} over activations whose batch axis
 * holds {@code batch * frames} images: {@code SpatioTemporalResBlock} (with {@code TemporalResnetBlock} and
 * the {@code AlphaBlender} time mixer), {@code TransformerSpatioTemporalModel} and
 * {@code TemporalBasicTransformerBlock}, in the current scope with diffusers' module names. As diffusers does,
 * every block reads the frame count from {@code image_only_indicator}'s last axis at run time and folds the
 * frames out of the batch with it, so no batch or frame count is a constant of the graph. Not thread-safe.
 */
@SuppressWarnings("try") // scopes are opened for their names; the body never touches the guard
final class SpatioTemporalBlocks {
    /** Standard deviation of each {@code mix_factor}: sigmoid of it spreads over roughly 0.15 to 0.85. */
    static final double MIX_FACTOR_STD = 1.0;
    private static final int GROUPS = SvdUNetConfig.NORM_GROUPS;
    private final Layers nn;
    private final SvdUNetConfig cfg;
    private final String temb;
    private final String context;
    private final String indicator;

    /**
     * Blocks of {@code cfg} conditioned on {@code temb} {@code [batch*frames, time_embed_dim]} and
     * {@code context} {@code [batch*frames, tokens, cross_attention_dim]}, with {@code indicator} the
     * {@code image_only_indicator} {@code [batch, frames]} of the model dtype (1 where a frame is a lone image).
     */
    SpatioTemporalBlocks(Layers nn, SvdUNetConfig cfg, String temb, String context, String indicator) {
        this.nn = nn;
        this.cfg = cfg;
        this.temb = temb;
        this.context = context;
        this.indicator = indicator;
    }

    /**
     * {@code SpatioTemporalResBlock} over {@code x} {@code [batch*frames, in, h, w]}: {@code spatial_res_block}
     * (a ResnetBlock2D), then {@code temporal_res_block} over {@code [batch, out, frames, h, w]}, blended with
     * the spatial result by {@code time_mixer}.
     */
    String resBlock(String x, int in, int out, double eps) {
        String spatial;
        try (GraphBuilder.Scope s = nn.scope("spatial_res_block")) {
            spatial = nn.resnet(x, temb, in, out, cfg.timeEmbedDim(), GROUPS, eps);
        }
        String video = nn.op("Transpose", List.of(unfoldFrames(spatial)), Attr.ints("perm", 0, 2, 1, 3, 4));
        String frameEmbeddings = nn.op("Reshape", List.of(temb,
                nn.op("Concat", List.of(nn.longs(-1), frames(), nn.longs(cfg.timeEmbedDim())), Attr.i("axis", 0))));
        String temporal;
        try (GraphBuilder.Scope s = nn.scope("temporal_res_block")) {
            temporal = temporalResnet(video, frameEmbeddings, out, eps);
        }
        String mixed;
        try (GraphBuilder.Scope s = nn.scope("time_mixer")) {
            mixed = blend(mixFactor(), video, temporal, 5);
        }
        String imagesFirst = nn.op("Transpose", List.of(mixed), Attr.ints("perm", 0, 2, 1, 3, 4));
        return nn.op("Reshape", List.of(imagesFirst, nn.op("Shape", List.of(spatial))));
    }

    /**
     * {@code TemporalResnetBlock} over {@code x} {@code [batch, channels, frames, h, w]} with per-frame
     * embeddings {@code frameTemb} {@code [batch, frames, time_embed_dim]}: GroupNorm, SiLU, a (3, 1, 1)
     * Conv3d, plus the projected embedding, GroupNorm, SiLU, Conv3d, plus the input.
     */
    private String temporalResnet(String x, String frameTemb, int channels, double eps) {
        String h = nn.silu("nonlinearity", nn.groupNorm("norm1", x, channels, GROUPS, eps, 3));
        h = nn.temporalConv("conv1", h, channels, channels, null);
        String t = nn.linear("time_emb_proj", nn.silu("nonlinearity_1", frameTemb), cfg.timeEmbedDim(), channels,
                true, 1);
        t = nn.op("Transpose", List.of(nn.op("Unsqueeze", List.of(t, nn.longs(3, 4)))),
                Attr.ints("perm", 0, 2, 1, 3, 4));
        h = nn.add(h, t);
        h = nn.silu("nonlinearity_2", nn.groupNorm("norm2", h, channels, GROUPS, eps, 3));
        h = nn.temporalConv("conv2", h, channels, channels, null);
        return nn.add(x, h);
    }

    /**
     * {@code TransformerSpatioTemporalModel} over {@code x} {@code [batch*frames, channels, h, w]}: GroupNorm,
     * linear {@code proj_in}, then per depth a spatial {@code BasicTransformerBlock} over each frame's tokens and
     * a {@code TemporalBasicTransformerBlock} over each position's frames (with the frame index embedded by
     * {@code time_pos_embed} and the first frame's context), blended by {@code time_mixer}; {@code proj_out} and
     * the residual.
     */
    String transformer(String x, int channels, int heads, int depth) {
        String h = nn.linear("proj_in", nn.toTokens(nn.groupNorm("norm", x, channels, GROUPS, 1e-6)), channels,
                channels, true, 1);
        String timeContext = firstFrameContext(x);
        String positions;
        try (GraphBuilder.Scope s = nn.scope("time_proj")) {
            positions = UNetGraph.sinusoidal(nn, framePositions(x), channels);
        }
        String positionEmbedding;
        try (GraphBuilder.Scope s = nn.scope("time_pos_embed")) {
            String e = nn.linear("linear_1", positions, channels, 4 * channels, true, 1);
            positionEmbedding = nn.linear("linear_2", nn.silu("act", e), 4 * channels, channels, true, 1);
        }
        positionEmbedding = nn.op("Unsqueeze", List.of(positionEmbedding, nn.longs(1)));
        String mixFactor;
        try (GraphBuilder.Scope s = nn.scope("time_mixer")) {
            mixFactor = mixFactor(); // one module for every depth, as in diffusers
        }
        for (int d = 0; d < depth; d++) {
            try (GraphBuilder.Scope s = nn.scope("transformer_blocks." + d)) {
                h = nn.transformerBlock(h, context, channels, cfg.crossAttentionDim(), heads, false);
            }
            String temporal = nn.add(h, positionEmbedding);
            try (GraphBuilder.Scope s = nn.scope("temporal_transformer_blocks." + d)) {
                temporal = temporalTransformerBlock(temporal, timeContext, channels, heads);
            }
            try (GraphBuilder.Scope s = nn.scope("time_mixer")) {
                h = blend(mixFactor, h, temporal, 3);
            }
        }
        h = nn.toImage(nn.linear("proj_out", h, channels, channels, true, 1), x);
        return nn.add(h, x);
    }

    /**
     * diffusers' {@code time_context}: the context of each sample's first frame, repeated for each of the
     * {@code h*w} positions of {@code images}, {@code [batch*h*w, tokens, cross_attention_dim]}. The positions are
     * counted off the block's input, which a cut before the block hands over anyway.
     */
    private String firstFrameContext(String images) {
        String contextShape = nn.op("Shape", List.of(context));
        String perSample = nn.op("Reshape", List.of(context, nn.op("Concat", List.of(nn.longs(-1), frames(),
                slice(contextShape, 1, 3)), Attr.i("axis", 0))));
        String first = nn.op("Gather", List.of(perSample, scalarLong(0)), Attr.i("axis", 1));
        String imageShape = nn.op("Shape", List.of(images));
        String positions = nn.mul(slice(imageShape, 2, 3), slice(imageShape, 3, 4));
        String repeated = nn.op("Expand", List.of(nn.op("Unsqueeze", List.of(first, nn.longs(1))),
                nn.op("Concat", List.of(nn.longs(1), positions, nn.longs(1, 1)), Attr.i("axis", 0))));
        return nn.op("Reshape", List.of(repeated, nn.op("Concat", List.of(nn.longs(-1), slice(contextShape, 1, 3)),
                Attr.i("axis", 0))));
    }

    /** The frame index of every image of {@code x}, {@code [batch*frames]} float32: 0 … frames-1 per sample. */
    private String framePositions(String x) {
        String frameCount = nn.op("Gather", List.of(nn.op("Shape", List.of(indicator)), scalarLong(1)),
                Attr.i("axis", 0));
        String range = nn.op("Range", List.of(scalarLong(0), frameCount, scalarLong(1)));
        String batch = nn.op("Div", List.of(slice(nn.op("Shape", List.of(x)), 0, 1), frames()));
        String grid = nn.op("Expand", List.of(nn.op("Unsqueeze", List.of(range, nn.longs(0))),
                nn.op("Concat", List.of(batch, nn.longs(1)), Attr.i("axis", 0))));
        return nn.op("Cast", List.of(nn.op("Reshape", List.of(grid, nn.longs(-1)))),
                Attr.i("to", UNetGraph.onnxType(DType.FP32)));
    }

    /**
     * {@code TemporalBasicTransformerBlock} over {@code x} {@code [batch*frames, tokens, channels]}: regrouped
     * as {@code [batch*tokens, frames, channels]}, {@code norm_in} and {@code ff_in} (residual), self-attention
     * across frames, cross-attention to {@code timeContext}, the feed-forward, then grouped back.
     */
    private String temporalTransformerBlock(String x, String timeContext, int channels, int heads) {
        int headDim = channels / heads;
        String byFrame = nn.op("Reshape", List.of(x, nn.op("Concat", List.of(nn.longs(-1), frames(),
                slice(nn.op("Shape", List.of(x)), 1, 3)), Attr.i("axis", 0))));
        String byPosition = nn.op("Transpose", List.of(byFrame), Attr.ints("perm", 0, 2, 1, 3));
        String h = nn.op("Reshape", List.of(byPosition, nn.op("Concat", List.of(nn.longs(-1), frames(),
                nn.longs(channels)), Attr.i("axis", 0))));
        String normed = nn.layerNorm("norm_in", h, channels, 1e-5);
        try (GraphBuilder.Scope s = nn.scope("ff_in")) {
            h = nn.add(nn.feedForward(normed, channels, channels), h);
        }
        normed = nn.layerNorm("norm1", h, channels, 1e-5);
        try (GraphBuilder.Scope s = nn.scope("attn1")) {
            h = nn.add(nn.projectedAttention(normed, null, channels, channels, heads, headDim, false), h);
        }
        normed = nn.layerNorm("norm2", h, channels, 1e-5);
        try (GraphBuilder.Scope s = nn.scope("attn2")) {
            h = nn.add(nn.projectedAttention(normed, timeContext, channels, cfg.crossAttentionDim(), heads, headDim,
                    false), h);
        }
        normed = nn.layerNorm("norm3", h, channels, 1e-5);
        try (GraphBuilder.Scope s = nn.scope("ff")) {
            h = nn.add(nn.feedForward(normed, channels, channels), h);
        }
        String back = nn.op("Reshape", List.of(h, nn.op("Shape", List.of(byPosition))));
        return nn.op("Reshape", List.of(nn.op("Transpose", List.of(back), Attr.ints("perm", 0, 2, 1, 3)),
                nn.op("Shape", List.of(x))));
    }

    /** The time mixer's {@code mix_factor} parameter, {@code [1]}, in the current scope. */
    private String mixFactor() {
        return nn.parameter("mix_factor", new long[] {1}, MIX_FACTOR_STD);
    }

    /**
     * {@code AlphaBlender} with {@code learned_with_images}: {@code alpha * spatial + (1 - alpha) * temporal} with
     * {@code alpha = image_only_indicator ? 1 : sigmoid(mix_factor)} per frame, shaped {@code [batch, 1, frames,
     * 1, 1]} for 5-D inputs and {@code [batch*frames, 1, 1]} for 3-D ones.
     */
    private String blend(String mixFactor, String spatial, String temporal, int rank) {
        String ones = nn.constant(nn.dtype(), new long[] {1, 1}, Weights.filled(nn.dtype(), new long[] {1, 1}, 1f).get());
        String isImage = nn.op("Cast", List.of(indicator), Attr.i("to", UNetGraph.onnxType(DType.BOOL)));
        String alpha = nn.op("Where", List.of(isImage, ones, nn.op("Sigmoid", List.of(mixFactor))));
        alpha = rank == 5 ? nn.op("Unsqueeze", List.of(alpha, nn.longs(1, 3, 4)))
                : nn.op("Reshape", List.of(alpha, nn.longs(-1, 1, 1)));
        String complement = nn.op("Sub", List.of(nn.scalar(1f), alpha));
        return nn.add(nn.mul(alpha, spatial), nn.mul(complement, temporal));
    }

    /** {@code [batch*frames, c, h, w]} as {@code [batch, frames, c, h, w]}. */
    private String unfoldFrames(String images) {
        return nn.op("Reshape", List.of(images, nn.op("Concat", List.of(nn.longs(-1), frames(),
                slice(nn.op("Shape", List.of(images)), 1, 4)), Attr.i("axis", 0))));
    }

    /** The frame count as a 1-D int64 {@code [1]}, read off {@code image_only_indicator} as diffusers reads it. */
    private String frames() {
        return nn.op("Gather", List.of(nn.op("Shape", List.of(indicator)), nn.longs(1)), Attr.i("axis", 0));
    }

    private String slice(String shape, long start, long end) {
        return nn.op("Slice", List.of(shape, nn.longs(start), nn.longs(end)));
    }

    private String scalarLong(long value) {
        ByteBuffer bytes = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value);
        return nn.constant(DType.INT64, new long[0], bytes);
    }
}
