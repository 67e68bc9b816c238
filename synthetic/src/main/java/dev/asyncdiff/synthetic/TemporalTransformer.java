package dev.asyncdiff.synthetic;

import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import java.util.List;

/**
 * diffusers' {@code TransformerTemporalModel} as AnimateDiff's motion modules configure it, in the current scope of
 * a {@link Layers}: over {@code [batch*frames, channels, h, w]} it runs GroupNorm (statistics per video, over its
 * frames and positions), {@code proj_in}, one {@code BasicTransformerBlock} whose two attentions ({@code attn1},
 * {@code attn2}, {@code double_self_attention}) are self-attentions over the frames of each spatial position, each
 * on LayerNorm output plus a sinusoidal frame position, then a GEGLU feed-forward, {@code proj_out} and the
 * residual. Spatial positions never attend to each other.
 */
@SuppressWarnings("try") // scopes are opened for their names; the body never touches the guard
final class TemporalTransformer {
    private static final double NORM_EPS = 1e-6;
    private static final double LAYER_NORM_EPS = 1e-5;
    private static final double MAX_PERIOD = 10_000;

    private TemporalTransformer() {
    }

    /**
     * The motion module over {@code h}, {@code [batch*frames, channels, h, w]}; {@code frames} is the frame count,
     * a 1-D int64 tensor of one element read from the input's shape.
     */
    static String apply(Layers nn, String h, String frames, int channels, int heads, int groups, int maxFrames) {
        String shape = nn.op("Shape", List.of(h));
        String area = nn.mul(nn.op("Slice", List.of(shape, nn.longs(2), nn.longs(3))),
                nn.op("Slice", List.of(shape, nn.longs(3), nn.longs(4))));
        // [b*f, c, h, w] -> [b, c, f, h*w]: a 4-D GroupNorm has the statistics of diffusers' 5-D one
        String video = nn.op("Reshape", List.of(h, concat(nn, nn.longs(-1), frames, nn.longs(channels), area)));
        video = nn.op("Transpose", List.of(video), Attr.ints("perm", 0, 2, 1, 3));
        String normed = nn.groupNorm("norm", video, channels, groups, NORM_EPS);
        // -> [b*h*w, f, c]: one sequence of frames per spatial position
        String tokens = nn.op("Transpose", List.of(normed), Attr.ints("perm", 0, 3, 2, 1));
        tokens = nn.op("Reshape", List.of(tokens, concat(nn, nn.longs(-1), frames, nn.longs(channels))));
        tokens = nn.linear("proj_in", tokens, channels, channels, true, 1);
        try (GraphBuilder.Scope s = nn.scope("transformer_blocks.0")) {
            tokens = block(nn, tokens, frames, channels, heads, maxFrames);
        }
        tokens = nn.linear("proj_out", tokens, channels, channels, true, 1);
        String back = nn.op("Reshape", List.of(tokens, concat(nn, nn.longs(-1), area, frames, nn.longs(channels))));
        back = nn.op("Transpose", List.of(back), Attr.ints("perm", 0, 2, 3, 1));
        return nn.add(nn.op("Reshape", List.of(back, shape)), h);
    }

    private static String block(Layers nn, String x, String frames, int dim, int heads, int maxFrames) {
        String positions;
        try (GraphBuilder.Scope s = nn.scope("pos_embed")) {
            positions = nn.op("Slice", List.of(positionTable(nn, dim, maxFrames), nn.longs(0), frames, nn.longs(1)));
        }
        int headDim = dim / heads;
        String h = x;
        for (int k = 1; k <= 2; k++) {
            String normed = nn.add(nn.layerNorm("norm" + k, h, dim, LAYER_NORM_EPS), positions);
            try (GraphBuilder.Scope s = nn.scope("attn" + k)) {
                h = nn.add(nn.projectedAttention(normed, null, dim, dim, heads, headDim, false), h);
            }
        }
        String normed = nn.layerNorm("norm3", h, dim, LAYER_NORM_EPS);
        try (GraphBuilder.Scope s = nn.scope("ff")) {
            int inner = 4 * dim;
            String gated;
            try (GraphBuilder.Scope n = nn.scope("net.0")) {
                String projected = nn.linear("proj", normed, dim, 2 * inner, true, 1);
                List<String> halves = nn.graph().op("Split", 2, List.of(projected), Attr.i("axis", -1));
                gated = nn.mul(halves.get(0), nn.gelu(halves.get(1)));
            }
            h = nn.add(nn.linear("net.2", gated, inner, dim, true, 1), h);
        }
        return h;
    }

    /**
     * diffusers' {@code SinusoidalPositionalEmbedding} buffer {@code pe}, {@code [1, maxFrames, dim]}: position
     * {@code p} has {@code sin(p w_i)} at {@code 2i} and {@code cos(p w_i)} at {@code 2i+1},
     * {@code w_i = exp(-ln(10000) 2i / dim)}. A constant, not a parameter, as it is a buffer in torch.
     */
    static String positionTable(Layers nn, int dim, int maxFrames) {
        float[] table = new float[maxFrames * dim];
        for (int p = 0; p < maxFrames; p++) {
            for (int i = 0; i < dim; i += 2) {
                double angle = p * Math.exp(i * -Math.log(MAX_PERIOD) / dim);
                table[p * dim + i] = (float) Math.sin(angle);
                table[p * dim + i + 1] = (float) Math.cos(angle);
            }
        }
        return nn.constant(nn.dtype(), new long[] {1, maxFrames, dim}, Weights.of(nn.dtype(), table));
    }

    private static String concat(Layers nn, String... parts) {
        return nn.op("Concat", List.of(parts), Attr.i("axis", 0));
    }
}
