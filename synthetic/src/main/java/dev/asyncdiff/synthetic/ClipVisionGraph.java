package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The ONNX graph of transformers' {@code CLIPVisionModelWithProjection} as the standard export lays it out:
 * input {@code pixel_values} {@code [batch, 3, image, image]} (already resized, cropped and normalised); outputs
 * {@code image_embeds} {@code [batch, projection_dim]} and {@code last_hidden_state} {@code [batch, tokens, hidden]}.
 * The patches (a bias-free strided conv) follow the learned class token, position embeddings are added and
 * {@code pre_layrnorm} (transformers' spelling) normalises before the encoder layers, which attend without a mask.
 * {@code last_hidden_state} is the last layer's output, not post-normed; {@code image_embeds} is
 * {@code visual_projection(post_layernorm(last_hidden_state[:, 0]))}. Parameters are named as in transformers
 * ({@code vision_model.encoder.layers.0.self_attn.q_proj.weight}, {@code visual_projection.weight}).
 */
@SuppressWarnings("try") // scopes are opened for their names; the body never touches the guard
public final class ClipVisionGraph {
    private static final double CLASS_STD = 1.0;
    private static final double POSITION_STD = 0.1;

    private ClipVisionGraph() {
    }

    /**
     * Builds the vision tower of {@code cfg} with weights from {@code weights}.
     *
     * @throws IllegalArgumentException when {@code dtype} is not FP32 or FP16
     */
    public static GraphBuilder build(ClipVisionConfig cfg, Weights weights, DType dtype) {
        GraphBuilder graph = new GraphBuilder("image_encoder");
        Layers nn = new Layers(graph, weights, dtype);
        int hidden = cfg.hiddenSize();
        int size = cfg.imageSize();
        String pixels = graph.input("pixel_values", dtype, "batch", cfg.numChannels(), size, size);
        String lastHidden;
        String pooled;
        try (GraphBuilder.Scope v = nn.scope("vision_model")) {
            String h;
            try (GraphBuilder.Scope e = nn.scope("embeddings")) {
                h = embeddings(nn, cfg, pixels);
            }
            h = nn.layerNorm("pre_layrnorm", h, hidden, cfg.layerNormEps());
            try (GraphBuilder.Scope enc = nn.scope("encoder")) {
                for (int i = 0; i < cfg.numHiddenLayers(); i++) {
                    String name = i == cfg.numHiddenLayers() - 1 ? "last_hidden_state" : null;
                    try (GraphBuilder.Scope l = nn.scope("layers." + i)) {
                        h = ClipTextEncoderGraph.encoderLayer(nn, hidden, cfg.numAttentionHeads(),
                                cfg.intermediateSize(), cfg.hiddenAct(), cfg.layerNormEps(), h, null, name);
                    }
                }
            }
            lastHidden = h;
            String classToken = nn.op("Gather", List.of(lastHidden, classIndex(nn)), Attr.i("axis", 1));
            pooled = nn.layerNorm("post_layernorm", classToken, hidden, cfg.layerNormEps());
        }
        String imageEmbeds = nn.linear("visual_projection", pooled, hidden, cfg.projectionDim(), false, 1,
                "image_embeds");
        graph.output(imageEmbeds, dtype, "batch", cfg.projectionDim());
        graph.output(lastHidden, dtype, "batch", cfg.tokenCount(), hidden);
        return graph;
    }

    /**
     * {@code CLIPVisionEmbeddings}: {@code patch_embedding} (Conv2d, kernel and stride the patch size, no bias) as
     * tokens, behind {@code class_embedding} broadcast over the batch, plus {@code position_embedding}.
     */
    private static String embeddings(Layers nn, ClipVisionConfig cfg, String pixels) {
        int hidden = cfg.hiddenSize();
        int patch = cfg.patchSize();
        String classEmbedding = nn.parameter("class_embedding", new long[] {hidden}, CLASS_STD);
        String patches;
        try (GraphBuilder.Scope s = nn.scope("patch_embedding")) {
            String weight = nn.parameter("weight", new long[] {hidden, cfg.numChannels(), patch, patch},
                    1 / Math.sqrt((double) cfg.numChannels() * patch * patch));
            patches = nn.op("Conv", List.of(pixels, weight), Attr.ints("dilations", 1, 1), Attr.i("group", 1),
                    Attr.ints("kernel_shape", patch, patch), Attr.ints("pads", 0, 0, 0, 0),
                    Attr.ints("strides", patch, patch));
        }
        String patchTokens = nn.toTokens(patches);
        String batch = nn.op("Slice", List.of(nn.op("Shape", List.of(pixels)), nn.longs(0), nn.longs(1)));
        String classShape = nn.op("Concat", List.of(batch, nn.longs(1, hidden)), Attr.i("axis", 0));
        String classTokens = nn.op("Expand", List.of(classEmbedding, classShape));
        String tokens = nn.op("Concat", List.of(classTokens, patchTokens), Attr.i("axis", 1));
        String positions;
        try (GraphBuilder.Scope s = nn.scope("position_embedding")) {
            positions = nn.parameter("weight", new long[] {cfg.tokenCount(), hidden}, POSITION_STD);
        }
        return nn.add(tokens, positions);
    }

    /** The scalar int64 index 0, selecting the class token. */
    private static String classIndex(Layers nn) {
        ByteBuffer zero = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 0);
        return nn.constant(DType.INT64, new long[0], zero);
    }
}
