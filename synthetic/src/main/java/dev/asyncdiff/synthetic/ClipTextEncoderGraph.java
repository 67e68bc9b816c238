package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The ONNX graph of a CLIP text transformer as the standard export lays it out: input
 * {@code input_ids} (int64 {@code [batch, 77]}); outputs {@code last_hidden_state} and
 * {@code pooler_output} ({@code CLIPTextModel}) or {@code text_embeds} and {@code last_hidden_state}
 * ({@code CLIPTextModelWithProjection}), plus {@code hidden_states.0} to {@code hidden_states.N}
 * when the configuration asks for every layer's state (SDXL, which conditions on the penultimate).
 * The pooled state is the final-normed state at the end-of-text token, found as
 * {@code argmax(input_ids)}.
 */
@SuppressWarnings("try") // scopes are opened for their names; the body never touches the guard
public final class ClipTextEncoderGraph {
    private static final double TOKEN_STD = 1.0;
    private static final double POSITION_STD = 0.1;

    private ClipTextEncoderGraph() {
    }

    /**
     * Builds the text encoder of {@code cfg} with weights from {@code weights}.
     *
     * @throws IllegalArgumentException when {@code dtype} is not FP32 or FP16
     */
    public static GraphBuilder build(ClipTextConfig cfg, Weights weights, DType dtype) {
        GraphBuilder graph = new GraphBuilder("text_encoder");
        Layers nn = new Layers(graph, weights, dtype);
        int hidden = cfg.hiddenSize();
        int tokens = cfg.maxPositionEmbeddings();
        int heads = cfg.numAttentionHeads();
        int layers = cfg.numHiddenLayers();
        String inputIds = graph.input("input_ids", DType.INT64, "batch", tokens);
        List<String> hiddenStates = new ArrayList<>();
        String lastHidden;
        String pooled;
        try (GraphBuilder.Scope t = nn.scope("text_model")) {
            String h;
            try (GraphBuilder.Scope e = nn.scope("embeddings")) {
                String tokenEmbeds;
                try (GraphBuilder.Scope s = nn.scope("token_embedding")) {
                    String table = nn.parameter("weight", new long[] {cfg.vocabSize(), hidden}, TOKEN_STD);
                    tokenEmbeds = nn.op("Gather", List.of(table, inputIds), Attr.i("axis", 0));
                }
                String positions;
                try (GraphBuilder.Scope s = nn.scope("position_embedding")) {
                    positions = nn.parameter("weight", new long[] {tokens, hidden}, POSITION_STD);
                }
                h = add(nn, tokenEmbeds, positions, hiddenStateName(cfg, 0));
            }
            hiddenStates.add(h);
            String mask = causalMask(nn, tokens);
            try (GraphBuilder.Scope enc = nn.scope("encoder")) {
                for (int i = 0; i < layers; i++) {
                    try (GraphBuilder.Scope l = nn.scope("layers." + i)) {
                        h = encoderLayer(nn, cfg, h, mask, hiddenStateName(cfg, i + 1));
                    }
                    hiddenStates.add(h);
                }
            }
            lastHidden = nn.layerNorm("final_layer_norm", h, hidden, cfg.layerNormEps(), "last_hidden_state");
            String eos = nn.op("ArgMax", List.of(nn.op("Cast", List.of(inputIds), Attr.i("to", UNetGraph.onnxType(DType.INT32)))),
                    Attr.i("axis", -1), Attr.i("keepdims", 1));
            String eosIndex = nn.op("Cast", List.of(eos), Attr.i("to", UNetGraph.onnxType(DType.INT64)));
            pooled = cfg.withProjection() ? nn.op("GatherND", List.of(lastHidden, eosIndex), Attr.i("batch_dims", 1))
                    : graph.namedOp("GatherND", List.of(lastHidden, eosIndex), "pooler_output", Attr.i("batch_dims", 1));
        }
        if (cfg.withProjection()) {
            String textEmbeds = nn.linear("text_projection", pooled, hidden, cfg.projectionDim(), false, 1,
                    "text_embeds");
            graph.output(textEmbeds, dtype, "batch", cfg.projectionDim());
            graph.output(lastHidden, dtype, "batch", tokens, hidden);
        } else {
            graph.output(lastHidden, dtype, "batch", tokens, hidden);
            graph.output(pooled, dtype, "batch", hidden);
        }
        if (cfg.outputHiddenStates()) {
            for (String state : hiddenStates) {
                graph.output(state, dtype, "batch", tokens, hidden);
            }
        }
        return graph;
    }

    private static String encoderLayer(Layers nn, ClipTextConfig cfg, String x, String mask, String outputName) {
        return encoderLayer(nn, cfg.hiddenSize(), cfg.numAttentionHeads(), cfg.intermediateSize(), cfg.hiddenAct(),
                cfg.layerNormEps(), x, mask, outputName);
    }

    /**
     * One pre-LayerNorm {@code CLIPEncoderLayer} in the current scope, shared by the text and vision towers:
     * self-attention ({@code mask} added to the scores, causal for text, {@code null} for vision) and the MLP
     * ({@code gelu} or {@code quick_gelu}), each added to the residual; a non-null {@code outputName} names the result.
     */
    static String encoderLayer(Layers nn, int hidden, int heads, int intermediate, String hiddenAct, double eps,
                               String x, String mask, String outputName) {
        String normed = nn.layerNorm("layer_norm1", x, hidden, eps);
        String attended;
        try (GraphBuilder.Scope a = nn.scope("self_attn")) {
            String q = nn.linear("q_proj", normed, hidden, hidden, true, 1);
            String k = nn.linear("k_proj", normed, hidden, hidden, true, 1);
            String v = nn.linear("v_proj", normed, hidden, hidden, true, 1);
            String context = nn.attention(q, k, v, heads, hidden / heads, mask);
            attended = nn.linear("out_proj", context, hidden, hidden, true, 1);
        }
        String h = nn.add(x, attended);
        normed = nn.layerNorm("layer_norm2", h, hidden, eps);
        String mlp;
        try (GraphBuilder.Scope m = nn.scope("mlp")) {
            String up = nn.linear("fc1", normed, hidden, intermediate, true, 1);
            String activated;
            try (GraphBuilder.Scope a = nn.scope("activation_fn")) {
                activated = hiddenAct.equals("gelu") ? nn.gelu(up) : nn.quickGelu(up);
            }
            mlp = nn.linear("fc2", activated, intermediate, hidden, true, 1);
        }
        return add(nn, h, mlp, outputName);
    }

    /** The additive causal mask {@code [tokens, tokens]}: 0 on and below the diagonal, the dtype's lowest value above. */
    private static String causalMask(Layers nn, int tokens) {
        DType dtype = nn.dtype();
        float lowest = dtype == DType.FP16 ? -65504f : -Float.MAX_VALUE;
        float[] mask = new float[tokens * tokens];
        for (int row = 0; row < tokens; row++) {
            for (int column = row + 1; column < tokens; column++) {
                mask[row * tokens + column] = lowest;
            }
        }
        ByteBuffer bytes = Weights.of(dtype, mask).order(ByteOrder.LITTLE_ENDIAN);
        return nn.constant(dtype, new long[] {tokens, tokens}, bytes);
    }

    private static String add(Layers nn, String a, String b, String outputName) {
        return outputName == null ? nn.add(a, b) : nn.graph().namedOp("Add", List.of(a, b), outputName);
    }

    private static String hiddenStateName(ClipTextConfig cfg, int index) {
        return cfg.outputHiddenStates() ? "hidden_states." + index : null;
    }
}
