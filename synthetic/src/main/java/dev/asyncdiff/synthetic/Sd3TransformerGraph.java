package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import java.util.List;

/**
 * The ONNX graph of a diffusers {@code SD3Transformer2DModel} (MMDiT) as Optimum's
 * {@code sd3-transformer-2d} export lays it out: inputs {@code hidden_states}
 * {@code [batch, 16, height, width]}, {@code encoder_hidden_states} {@code [batch, sequence, joint_attention_dim]},
 * {@code pooled_projections} {@code [batch, pooled_projection_dim]} and {@code timestep} (float32
 * {@code [batch]}); output {@code out_hidden_states}, shaped like {@code hidden_states}. Height and
 * width are any multiple of the patch size up to {@code pos_embed_max_size} patches.
 *
 * <p>The structure follows diffusers: {@code pos_embed} (a patchifying conv plus the stored
 * position-embedding grid cropped to the centre of the latent's patch grid), {@code time_text_embed}
 * (sinusoidal timestep embedding plus the pooled text projection), {@code context_embedder}, the
 * joint transformer blocks (AdaLayerNorm-Zero modulation of both streams from that embedding, one
 * attention over image and text tokens together, gated MLPs; the last block is "context pre-only"
 * and modulates the text with {@code AdaLayerNormContinuous} and keeps no text output), then
 * {@code norm_out}, {@code proj_out} and the unpatchify. Node names are those of a torch export
 * ({@code /transformer_blocks.3/attn/to_q/MatMul}), so the splitter finds the blocks.
 */
@SuppressWarnings("try") // scopes are opened for their names; the body never touches the guard
public final class Sd3TransformerGraph {
    /** Gain of the modulation projections: trained adaLN weights are small (they start at zero). */
    static final double MODULATION_GAIN = 0.25;
    /** Gain of {@code proj_out}, so that the prediction's standard deviation stays well under one. */
    static final double PROJ_OUT_GAIN = 0.5;
    private static final double POSITION_STD = 0.5;

    private Sd3TransformerGraph() {
    }

    /**
     * Builds the transformer of {@code cfg} with weights from {@code weights}; nothing is written
     * until {@link GraphBuilder#write}. Besides the model's trainable parameters the graph holds the
     * persistent buffer {@code pos_embed.pos_embed} ({@code pos_embed_max_size^2 * inner_dim}
     * elements), which {@link GraphBuilder#parameterCount()} includes; see {@link #positionBufferSize}.
     *
     * @throws IllegalArgumentException when {@code dtype} is not FP32 or FP16
     */
    public static GraphBuilder build(Sd3TransformerConfig cfg, Weights weights, DType dtype) {
        GraphBuilder graph = new GraphBuilder("transformer");
        Layers nn = new Layers(graph, weights, dtype);
        int inner = cfg.innerDim();
        int patch = cfg.patchSize();

        String sample = graph.input("hidden_states", dtype, "batch", cfg.inChannels(), "height", "width");
        String context = graph.input("encoder_hidden_states", dtype, "batch", "sequence", cfg.jointAttentionDim());
        String pooled = graph.input("pooled_projections", dtype, "batch", cfg.pooledProjectionDim());
        String timestep = graph.input("timestep", DType.FP32, "batch");

        String imageShape = nn.op("Shape", List.of(sample));
        String grid = nn.op("Div", List.of(nn.op("Slice", List.of(imageShape, nn.longs(2), nn.longs(4))),
                nn.longs(patch)));
        String h;
        try (GraphBuilder.Scope s = nn.scope("pos_embed")) {
            String patches = nn.toTokens(nn.conv("proj", sample, cfg.inChannels(), inner, patch, patch, 0, 1));
            h = nn.add(patches, croppedPositions(nn, cfg, grid));
        }
        String temb;
        try (GraphBuilder.Scope s = nn.scope("time_text_embed")) {
            String projected;
            try (GraphBuilder.Scope t = nn.scope("time_proj")) {
                projected = UNetGraph.sinusoidal(nn, timestep, Sd3TransformerConfig.TIME_PROJECTION);
            }
            String timeEmbedding;
            try (GraphBuilder.Scope t = nn.scope("timestep_embedder")) {
                String t1 = nn.linear("linear_1", projected, Sd3TransformerConfig.TIME_PROJECTION, inner, true, 1);
                timeEmbedding = nn.linear("linear_2", nn.silu("act", t1), inner, inner, true, 1);
            }
            String textEmbedding;
            try (GraphBuilder.Scope t = nn.scope("text_embedder")) {
                String p1 = nn.linear("linear_1", pooled, cfg.pooledProjectionDim(), inner, true, 1);
                textEmbedding = nn.linear("linear_2", nn.silu("act_1", p1), inner, inner, true, 1);
            }
            temb = nn.add(timeEmbedding, textEmbedding);
        }
        String c = nn.linear("context_embedder", context, cfg.jointAttentionDim(), inner, true, 1);

        for (int i = 0; i < cfg.numLayers(); i++) {
            try (GraphBuilder.Scope s = nn.scope("transformer_blocks." + i)) {
                String[] streams = jointBlock(nn, cfg, h, c, temb, i == cfg.numLayers() - 1);
                h = streams[0];
                c = streams[1];
            }
        }

        try (GraphBuilder.Scope s = nn.scope("norm_out")) {
            h = continuousNorm(nn, h, temb, inner);
        }
        int patchValues = patch * patch * cfg.outChannels();
        h = nn.linear("proj_out", h, inner, patchValues, true, PROJ_OUT_GAIN);
        // unpatchify: [b, gh*gw, p*p*c] -> [b, gh, gw, p, p, c] -> [b, c, gh, p, gw, p] -> [b, c, h, w]
        String batch = nn.op("Slice", List.of(imageShape, nn.longs(0), nn.longs(1)));
        String patchShape = nn.op("Concat", List.of(batch, grid, nn.longs(patch, patch, cfg.outChannels())),
                Attr.i("axis", 0));
        String patches = nn.op("Transpose", List.of(nn.op("Reshape", List.of(h, patchShape))),
                Attr.ints("perm", 0, 5, 1, 3, 2, 4));
        String imageSize = nn.op("Mul", List.of(grid, nn.longs(patch)));
        String outShape = nn.op("Concat", List.of(batch, nn.longs(cfg.outChannels()), imageSize), Attr.i("axis", 0));
        String out = graph.namedOp("Reshape", List.of(patches, outShape), "out_hidden_states");
        graph.output(out, dtype, "batch", cfg.outChannels(), "height", "width");
        return graph;
    }

    /** Elements of the position-embedding buffer, which diffusers keeps as a buffer, not a parameter. */
    public static long positionBufferSize(Sd3TransformerConfig cfg) {
        return (long) cfg.posEmbedMaxSize() * cfg.posEmbedMaxSize() * cfg.innerDim();
    }

    /**
     * {@code PatchEmbed.cropped_pos_embed}: the {@code [1, max*max, inner]} grid reshaped to
     * {@code [1, max, max, inner]}, its centre {@code grid} patches kept ({@code top = (max - gh) / 2},
     * {@code left = (max - gw) / 2}) and flattened back to {@code [1, gh*gw, inner]}.
     */
    private static String croppedPositions(Layers nn, Sd3TransformerConfig cfg, String grid) {
        int max = cfg.posEmbedMaxSize();
        int inner = cfg.innerDim();
        String table = nn.parameter("pos_embed", new long[] {1, (long) max * max, inner}, POSITION_STD);
        String spatial = nn.op("Reshape", List.of(table, nn.longs(1, max, max, inner)));
        String start = nn.op("Div", List.of(nn.op("Sub", List.of(nn.longs(max, max), grid)), nn.longs(2)));
        String end = nn.op("Add", List.of(start, grid));
        String cropped = nn.op("Slice", List.of(spatial, start, end, nn.longs(1, 2)));
        return nn.op("Reshape", List.of(cropped, nn.longs(1, -1, inner)));
    }

    /**
     * diffusers' {@code JointTransformerBlock}; returns the image and text streams (the text stream
     * unchanged by a context-pre-only block, whose text output diffusers drops).
     */
    private static String[] jointBlock(Layers nn, Sd3TransformerConfig cfg, String h, String c, String temb,
                                       boolean contextPreOnly) {
        int inner = cfg.innerDim();
        List<String> image;
        try (GraphBuilder.Scope s = nn.scope("norm1")) {
            image = zeroNorm(nn, h, temb, inner);
        }
        List<String> text = null;
        String normedText;
        try (GraphBuilder.Scope s = nn.scope("norm1_context")) {
            if (contextPreOnly) {
                normedText = continuousNorm(nn, c, temb, inner);
            } else {
                text = zeroNorm(nn, c, temb, inner);
                normedText = text.get(0);
            }
        }
        String[] attended;
        try (GraphBuilder.Scope s = nn.scope("attn")) {
            attended = jointAttention(nn, cfg, image.get(0), normedText, contextPreOnly);
        }
        h = nn.add(h, nn.mul(unsqueeze(nn, image.get(1)), attended[0]));
        String normed = modulate(nn, nn.plainLayerNorm("norm2", h, inner, Sd3TransformerConfig.NORM_EPS),
                image.get(2), image.get(3));
        try (GraphBuilder.Scope s = nn.scope("ff")) {
            h = nn.add(h, nn.mul(unsqueeze(nn, image.get(4)), feedForward(nn, normed, inner)));
        }
        if (contextPreOnly) {
            return new String[] {h, c};
        }
        c = nn.add(c, nn.mul(unsqueeze(nn, text.get(1)), attended[1]));
        normed = modulate(nn, nn.plainLayerNorm("norm2_context", c, inner, Sd3TransformerConfig.NORM_EPS),
                text.get(2), text.get(3));
        try (GraphBuilder.Scope s = nn.scope("ff_context")) {
            c = nn.add(c, nn.mul(unsqueeze(nn, text.get(4)), feedForward(nn, normed, inner)));
        }
        return new String[] {h, c};
    }

    /**
     * {@code AdaLayerNormZero} in the current scope: {@code linear(silu(temb))} chunked into shift,
     * scale and gate of the attention and of the MLP; returns the modulated norm of {@code x}, then
     * {@code gate_msa}, {@code shift_mlp}, {@code scale_mlp}, {@code gate_mlp}.
     */
    private static List<String> zeroNorm(Layers nn, String x, String temb, int dim) {
        String emb = nn.linear("linear", nn.silu("silu", temb), dim, 6 * dim, true, MODULATION_GAIN);
        List<String> chunks = nn.graph().op("Split", 6, List.of(emb), Attr.i("axis", 1));
        String normed = modulate(nn, nn.plainLayerNorm("norm", x, dim, Sd3TransformerConfig.NORM_EPS),
                chunks.get(0), chunks.get(1));
        return List.of(normed, chunks.get(2), chunks.get(3), chunks.get(4), chunks.get(5));
    }

    /**
     * {@code AdaLayerNormContinuous} in the current scope: {@code linear(silu(temb))} chunked into
     * scale then shift (that order), applied to the affine-free norm of {@code x}.
     */
    private static String continuousNorm(Layers nn, String x, String temb, int dim) {
        String emb = nn.linear("linear", nn.silu("silu", temb), dim, 2 * dim, true, MODULATION_GAIN);
        List<String> chunks = nn.graph().op("Split", 2, List.of(emb), Attr.i("axis", 1));
        return modulate(nn, nn.plainLayerNorm("norm", x, dim, Sd3TransformerConfig.NORM_EPS), chunks.get(1),
                chunks.get(0));
    }

    /** {@code x * (1 + scale[:, None]) + shift[:, None]}. */
    private static String modulate(Layers nn, String x, String shift, String scale) {
        return nn.add(nn.mul(x, nn.add(unsqueeze(nn, scale), nn.scalar(1f))), unsqueeze(nn, shift));
    }

    private static String unsqueeze(Layers nn, String x) {
        return nn.op("Unsqueeze", List.of(x, nn.longs(1)));
    }

    /**
     * {@code JointAttnProcessor2_0}: image queries, keys and values ({@code to_q/to_k/to_v}) and the
     * text's ({@code add_q_proj/add_k_proj/add_v_proj}) concatenated on the token axis, image first;
     * one scaled dot-product attention; the result split back at the image token count into
     * {@code to_out.0} and, unless context-pre-only, {@code to_add_out}.
     */
    private static String[] jointAttention(Layers nn, Sd3TransformerConfig cfg, String x, String c,
                                           boolean contextPreOnly) {
        int inner = cfg.innerDim();
        String q = nn.linear("to_q", x, inner, inner, true, 1);
        String k = nn.linear("to_k", x, inner, inner, true, 1);
        String v = nn.linear("to_v", x, inner, inner, true, 1);
        String cq = nn.linear("add_q_proj", c, inner, inner, true, 1);
        String ck = nn.linear("add_k_proj", c, inner, inner, true, 1);
        String cv = nn.linear("add_v_proj", c, inner, inner, true, 1);
        String attended = nn.attention(concatTokens(nn, q, cq), concatTokens(nn, k, ck), concatTokens(nn, v, cv),
                cfg.numAttentionHeads(), cfg.attentionHeadDim(), null);
        String imageTokens = nn.op("Slice", List.of(nn.op("Shape", List.of(x)), nn.longs(1), nn.longs(2)));
        String image = nn.op("Slice", List.of(attended, nn.longs(0), imageTokens, nn.longs(1)));
        String imageOut = nn.linear("to_out.0", image, inner, inner, true, 1);
        if (contextPreOnly) {
            return new String[] {imageOut, null};
        }
        String text = nn.op("Slice", List.of(attended, imageTokens, nn.longs(Long.MAX_VALUE), nn.longs(1)));
        return new String[] {imageOut, nn.linear("to_add_out", text, inner, inner, true, 1)};
    }

    private static String concatTokens(Layers nn, String image, String text) {
        return nn.op("Concat", List.of(image, text), Attr.i("axis", 1));
    }

    /** {@code FeedForward(activation_fn="gelu-approximate")}: {@code net.0.proj} to 4x, tanh GELU, {@code net.2}. */
    private static String feedForward(Layers nn, String x, int dim) {
        String activated;
        try (GraphBuilder.Scope s = nn.scope("net.0")) {
            activated = nn.geluTanh(nn.linear("proj", x, dim, 4 * dim, true, 1));
        }
        return nn.linear("net.2", activated, 4 * dim, dim, true, 1);
    }
}
