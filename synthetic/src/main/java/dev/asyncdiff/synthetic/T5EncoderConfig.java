package dev.asyncdiff.synthetic;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hyper-parameters of a transformers {@code T5EncoderModel} of the v1.1 kind SD 3 uses
 * (gated-GELU feed-forward, no biases, RMS norms, relative position buckets), with transformers'
 * config keys.
 *
 * @param vocabSize                    token vocabulary (the tokenizer decides it, see {@link #withVocabSize})
 * @param dModel                       width of the residual stream (4096 for T5-XXL)
 * @param dKv                          width of one attention head
 * @param dFf                          width of the gated feed-forward
 * @param numLayers                    encoder blocks
 * @param numHeads                     attention heads per block
 * @param relativeAttentionNumBuckets  relative-position buckets (32)
 * @param relativeAttentionMaxDistance distance beyond which positions share the last bucket (128)
 * @param layerNormEpsilon             epsilon of the RMS norms
 */
public record T5EncoderConfig(int vocabSize, int dModel, int dKv, int dFf, int numLayers, int numHeads,
                              int relativeAttentionNumBuckets, int relativeAttentionMaxDistance,
                              double layerNormEpsilon) {
    /** T5's padding id; padding is also the decoder start token. */
    public static final int PAD_ID = 0;
    /** T5's end-of-sequence id. */
    public static final int EOS_ID = 1;
    /** T5's unknown-piece id. */
    public static final int UNK_ID = 2;

    public T5EncoderConfig {
        ClipTextConfig.requirePositive("vocab_size", vocabSize);
        ClipTextConfig.requirePositive("d_model", dModel);
        ClipTextConfig.requirePositive("d_kv", dKv);
        ClipTextConfig.requirePositive("d_ff", dFf);
        ClipTextConfig.requirePositive("num_layers", numLayers);
        ClipTextConfig.requirePositive("num_heads", numHeads);
        ClipTextConfig.requirePositive("relative_attention_num_buckets", relativeAttentionNumBuckets);
        ClipTextConfig.requirePositive("relative_attention_max_distance", relativeAttentionMaxDistance);
        if (vocabSize <= UNK_ID) {
            throw new IllegalArgumentException("vocab_size must hold <pad>, </s>, <unk> and pieces, was " + vocabSize);
        }
        if (relativeAttentionNumBuckets % 4 != 0) {
            throw new IllegalArgumentException("relative_attention_num_buckets must be a multiple of 4 (half per"
                    + " direction, half of those exact), was " + relativeAttentionNumBuckets);
        }
        if (2L * relativeAttentionMaxDistance <= relativeAttentionNumBuckets / 2) {
            throw new IllegalArgumentException("relative_attention_max_distance " + relativeAttentionMaxDistance
                    + " must exceed the exact buckets " + relativeAttentionNumBuckets / 4);
        }
        if (!(layerNormEpsilon > 0)) {
            throw new IllegalArgumentException("layer_norm_epsilon must be positive, was " + layerNormEpsilon);
        }
    }

    /** This configuration with another vocabulary size (the tokenizer's). */
    public T5EncoderConfig withVocabSize(int size) {
        return new T5EncoderConfig(size, dModel, dKv, dFf, numLayers, numHeads, relativeAttentionNumBuckets,
                relativeAttentionMaxDistance, layerNormEpsilon);
    }

    /** The content of {@code text_encoder_3/config.json}, with transformers' keys. */
    public Map<String, Object> toDiffusersConfig() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("_class_name", "T5EncoderModel");
        config.put("architectures", List.of("T5EncoderModel"));
        config.put("d_ff", dFf);
        config.put("d_kv", dKv);
        config.put("d_model", dModel);
        config.put("decoder_start_token_id", PAD_ID);
        config.put("dense_act_fn", "gelu_new");
        config.put("dropout_rate", 0.1);
        config.put("eos_token_id", EOS_ID);
        config.put("feed_forward_proj", "gated-gelu");
        config.put("initializer_factor", 1.0);
        config.put("is_encoder_decoder", true);
        config.put("is_gated_act", true);
        config.put("layer_norm_epsilon", layerNormEpsilon);
        config.put("model_type", "t5");
        config.put("num_decoder_layers", numLayers);
        config.put("num_heads", numHeads);
        config.put("num_layers", numLayers);
        config.put("output_past", true);
        config.put("pad_token_id", PAD_ID);
        config.put("relative_attention_max_distance", relativeAttentionMaxDistance);
        config.put("relative_attention_num_buckets", relativeAttentionNumBuckets);
        config.put("tie_word_embeddings", false);
        config.put("use_cache", true);
        config.put("vocab_size", vocabSize);
        return config;
    }
}
