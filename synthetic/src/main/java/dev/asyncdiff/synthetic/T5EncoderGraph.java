package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import java.util.List;

/**
 * The ONNX graph of a transformers {@code T5EncoderModel} as Optimum's {@code t5-encoder} export
 * lays it out: input {@code input_ids} (int64 {@code [batch, sequence]}, any length), output
 * {@code last_hidden_state} {@code [batch, sequence, d_model]}. Blocks are pre-RMS-norm with
 * unscaled self-attention biased by the bucketed relative positions of block 0's
 * {@code relative_attention_bias} (shared by every block), and a gated-GELU feed-forward
 * ({@code wi_0}, {@code wi_1}, {@code wo}); no layer has a bias.
 */
@SuppressWarnings("try") // scopes are opened for their names; the body never touches the guard
public final class T5EncoderGraph {
    private static final double TOKEN_STD = 1.0;
    private static final double BIAS_TABLE_STD = 0.5;

    private T5EncoderGraph() {
    }

    /**
     * Builds the encoder of {@code cfg} with weights from {@code weights}.
     *
     * @throws IllegalArgumentException when {@code dtype} is not FP32 or FP16
     */
    public static GraphBuilder build(T5EncoderConfig cfg, Weights weights, DType dtype) {
        GraphBuilder graph = new GraphBuilder("text_encoder_3");
        Layers nn = new Layers(graph, weights, dtype);
        int d = cfg.dModel();
        int inner = cfg.numHeads() * cfg.dKv();
        String inputIds = graph.input("input_ids", DType.INT64, "batch", "sequence");
        String table;
        try (GraphBuilder.Scope s = nn.scope("shared")) {
            table = nn.parameter("weight", new long[] {cfg.vocabSize(), d}, TOKEN_STD);
        }
        String h;
        try (GraphBuilder.Scope e = nn.scope("encoder")) {
            try (GraphBuilder.Scope s = nn.scope("embed_tokens")) {
                h = nn.op("Gather", List.of(table, inputIds), Attr.i("axis", 0));
            }
            String positionBias = null;
            for (int i = 0; i < cfg.numLayers(); i++) {
                try (GraphBuilder.Scope b = nn.scope("block." + i)) {
                    try (GraphBuilder.Scope l = nn.scope("layer.0")) {
                        String normed = nn.rmsNorm("layer_norm", h, d, cfg.layerNormEpsilon());
                        try (GraphBuilder.Scope a = nn.scope("SelfAttention")) {
                            if (positionBias == null) {
                                positionBias = relativePositionBias(nn, cfg, inputIds);
                            }
                            String q = nn.linear("q", normed, d, inner, false, 1);
                            String k = nn.linear("k", normed, d, inner, false, 1);
                            String v = nn.linear("v", normed, d, inner, false, 1);
                            String context = nn.attention(q, k, v, cfg.numHeads(), cfg.dKv(), positionBias, 1f);
                            h = nn.add(h, nn.linear("o", context, inner, d, false, 1));
                        }
                    }
                    try (GraphBuilder.Scope l = nn.scope("layer.1")) {
                        String normed = nn.rmsNorm("layer_norm", h, d, cfg.layerNormEpsilon());
                        try (GraphBuilder.Scope f = nn.scope("DenseReluDense")) {
                            String gate = nn.linear("wi_0", normed, d, cfg.dFf(), false, 1);
                            try (GraphBuilder.Scope a = nn.scope("act")) {
                                gate = nn.geluTanh(gate);
                            }
                            String up = nn.linear("wi_1", normed, d, cfg.dFf(), false, 1);
                            h = nn.add(h, nn.linear("wo", nn.mul(gate, up), cfg.dFf(), d, false, 1));
                        }
                    }
                }
            }
            h = nn.rmsNorm("final_layer_norm", h, d, cfg.layerNormEpsilon());
        }
        String out = graph.namedOp("Identity", List.of(h), "last_hidden_state");
        graph.output(out, dtype, "batch", "sequence", d);
        return graph;
    }

    /**
     * {@code T5Attention.compute_bias} for a bidirectional encoder, {@code [1, heads, sequence, sequence]}:
     * half the buckets for keys after the query; within a direction, distances under a quarter of
     * the buckets are exact and larger ones share logarithmically wider buckets up to
     * {@code relative_attention_max_distance}. Computed from the sequence length at run time.
     */
    private static String relativePositionBias(Layers nn, T5EncoderConfig cfg, String inputIds) {
        int perDirection = cfg.relativeAttentionNumBuckets() / 2;
        int exact = perDirection / 2;
        String length = nn.op("Squeeze", List.of(nn.op("Slice", List.of(nn.op("Shape", List.of(inputIds)), nn.longs(1),
                nn.longs(2))), nn.longs(0)));
        String positions = nn.op("Range", List.of(nn.graph().constantScalar(0, DType.FP32), nn.op("Cast",
                List.of(length), Attr.i("to", UNetGraph.onnxType(DType.FP32))), nn.graph().constantScalar(1, DType.FP32)));
        String relative = nn.op("Sub", List.of(nn.op("Unsqueeze", List.of(positions, nn.longs(0))),
                nn.op("Unsqueeze", List.of(positions, nn.longs(1)))));
        String after = nn.op("Cast", List.of(nn.op("Greater", List.of(relative, fp32(nn, 0)))),
                Attr.i("to", UNetGraph.onnxType(DType.FP32)));
        String buckets = nn.mul(after, fp32(nn, perDirection));
        String distance = nn.op("Abs", List.of(relative));
        String small = nn.op("Less", List.of(distance, fp32(nn, exact)));
        double logRange = Math.log((double) cfg.relativeAttentionMaxDistance() / exact);
        String ratio = nn.op("Div", List.of(nn.op("Max", List.of(distance, fp32(nn, 1))), fp32(nn, exact)));
        String scaled = nn.mul(nn.op("Div", List.of(nn.op("Log", List.of(ratio)), fp32(nn, (float) logRange))),
                fp32(nn, perDirection - exact));
        // the bucket index is a truncated integer, as torch's .to(torch.long) truncates
        String large = nn.op("Min", List.of(nn.add(nn.op("Floor", List.of(scaled)), fp32(nn, exact)),
                fp32(nn, perDirection - 1)));
        String bucket = nn.op("Cast", List.of(nn.add(buckets, nn.op("Where", List.of(small, distance, large)))),
                Attr.i("to", UNetGraph.onnxType(DType.INT64)));
        String table = nn.parameter("relative_attention_bias.weight",
                new long[] {cfg.relativeAttentionNumBuckets(), cfg.numHeads()}, BIAS_TABLE_STD);
        String values = nn.op("Gather", List.of(table, bucket), Attr.i("axis", 0));
        String perHead = nn.op("Transpose", List.of(values), Attr.ints("perm", 2, 0, 1));
        return nn.op("Unsqueeze", List.of(perHead, nn.longs(0)));
    }

    private static String fp32(Layers nn, float value) {
        return nn.graph().constantScalar(value, DType.FP32);
    }
}
