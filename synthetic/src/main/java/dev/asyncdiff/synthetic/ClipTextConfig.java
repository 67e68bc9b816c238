package dev.asyncdiff.synthetic;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Hyper-parameters of a CLIP text transformer (transformers' {@code CLIPTextModel}, or
 * {@code CLIPTextModelWithProjection} when {@code withProjection}).
 *
 * @param vocabSize             token vocabulary size (the tokenizer decides it, see {@link #withVocabSize})
 * @param hiddenSize            width of the residual stream
 * @param intermediateSize      width of the MLP
 * @param numHiddenLayers       number of encoder layers
 * @param numAttentionHeads     attention heads per layer
 * @param maxPositionEmbeddings sequence length (77 for every Stable Diffusion text encoder)
 * @param hiddenAct             {@code quick_gelu} (OpenAI CLIP) or {@code gelu} (OpenCLIP)
 * @param layerNormEps          LayerNorm epsilon
 * @param projectionDim         width of {@code text_embeds} (the projection, also in the config without one)
 * @param withProjection        whether the model ends in {@code text_projection} and outputs {@code text_embeds}
 * @param outputHiddenStates    whether every layer's hidden state is a graph output ({@code hidden_states.N})
 */
public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
                             int numAttentionHeads, int maxPositionEmbeddings, String hiddenAct,
                             double layerNormEps, int projectionDim, boolean withProjection,
                             boolean outputHiddenStates) {
    private static final Set<String> ACTIVATIONS = Set.of("quick_gelu", "gelu");

    public ClipTextConfig {
        requirePositive("vocab_size", vocabSize);
        requirePositive("hidden_size", hiddenSize);
        requirePositive("intermediate_size", intermediateSize);
        requirePositive("num_hidden_layers", numHiddenLayers);
        requirePositive("num_attention_heads", numAttentionHeads);
        requirePositive("max_position_embeddings", maxPositionEmbeddings);
        requirePositive("projection_dim", projectionDim);
        if (vocabSize < 3) {
            throw new IllegalArgumentException("vocab_size must hold at least the bos, eos and one token, was "
                    + vocabSize);
        }
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not divisible by num_attention_heads "
                    + numAttentionHeads);
        }
        if (!ACTIVATIONS.contains(hiddenAct)) {
            throw new IllegalArgumentException("hidden_act must be one of " + ACTIVATIONS + ", was '" + hiddenAct + "'");
        }
        if (!(layerNormEps > 0)) {
            throw new IllegalArgumentException("layer_norm_eps must be positive, was " + layerNormEps);
        }
    }

    /** This configuration with another vocabulary size (the tokenizer's). */
    public ClipTextConfig withVocabSize(int size) {
        return new ClipTextConfig(size, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                maxPositionEmbeddings, hiddenAct, layerNormEps, projectionDim, withProjection, outputHiddenStates);
    }

    /** The transformers class this configuration describes. */
    public String className() {
        return withProjection ? "CLIPTextModelWithProjection" : "CLIPTextModel";
    }

    /** The end-of-text token id: the largest id, so that the pooled state sits at {@code argmax(input_ids)}. */
    public int eosTokenId() {
        return vocabSize - 1;
    }

    /** The start-of-text token id. */
    public int bosTokenId() {
        return vocabSize - 2;
    }

    /** The content of the text encoder folder's {@code config.json}, with transformers' keys. */
    public Map<String, Object> toDiffusersConfig() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("_class_name", className());
        config.put("architectures", List.of(className()));
        config.put("attention_dropout", 0.0);
        config.put("bos_token_id", bosTokenId());
        config.put("dropout", 0.0);
        config.put("eos_token_id", eosTokenId());
        config.put("hidden_act", hiddenAct);
        config.put("hidden_size", hiddenSize);
        config.put("initializer_factor", 1.0);
        config.put("initializer_range", 0.02);
        config.put("intermediate_size", intermediateSize);
        config.put("layer_norm_eps", layerNormEps);
        config.put("max_position_embeddings", maxPositionEmbeddings);
        config.put("model_type", "clip_text_model");
        config.put("num_attention_heads", numAttentionHeads);
        config.put("num_hidden_layers", numHiddenLayers);
        config.put("output_hidden_states", outputHiddenStates);
        config.put("pad_token_id", eosTokenId());
        config.put("projection_dim", projectionDim);
        config.put("vocab_size", vocabSize);
        return config;
    }

    static void requirePositive(String key, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(key + " must be positive, was " + value);
        }
    }
}
