package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.adapters.sd.tokenizer.ClipTokenizer;
import dev.asyncdiff.adapters.sd.tokenizer.T5Tokenizer;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;

/**
 * SD 3's text conditioning, as diffusers' {@code StableDiffusion3Pipeline.encode_prompt} builds it,
 * batched for classifier-free guidance as {@code [negative × n; prompt × n]} (or {@code prompt × n}):
 *
 * <ul>
 *   <li>{@code encoder_hidden_states} {@code [rows, 77 + max_sequence_length, joint_attention_dim]}:
 *       the penultimate hidden states of CLIP-L and CLIP-G concatenated on the width and zero-padded
 *       to the joint width, then T5's {@code last_hidden_state} appended on the token axis (zeros
 *       when the folder has no {@code text_encoder_3}, as diffusers does);</li>
 *   <li>{@code pooled_projections} {@code [rows, 768 + 1280]}: both CLIP encoders' {@code text_embeds}.</li>
 * </ul>
 *
 * <p>The negative prompt (default {@code ""}) is encoded like the prompt. Owns its text encoders;
 * {@link #close()} closes them. Not thread-safe.
 */
final class Sd3Conditioner implements AutoCloseable {
    private final ClipTokenizer tokenizer;
    private final TextEncoder encoder;
    private final ClipTokenizer tokenizer2;
    private final TextEncoder encoder2;
    private final T5Tokenizer tokenizer3;
    private final T5TextEncoder encoder3;
    private final int jointWidth;
    private final int maxSequenceLength;

    /**
     * Conditioning over the two CLIP encoders and, when {@code encoder3} is not null, T5; takes
     * ownership of the encoders.
     *
     * @throws IllegalArgumentException when {@code maxSequenceLength} is outside 1..512, or only one
     *     of {@code tokenizer3} and {@code encoder3} is given
     */
    Sd3Conditioner(ClipTokenizer tokenizer, TextEncoder encoder, ClipTokenizer tokenizer2, TextEncoder encoder2,
                   T5Tokenizer tokenizer3, T5TextEncoder encoder3, int jointWidth, int maxSequenceLength) {
        if (maxSequenceLength < 1 || maxSequenceLength > T5Tokenizer.MAX_SEQUENCE_LENGTH) {
            throw new IllegalArgumentException("max_sequence_length must be in 1.." + T5Tokenizer.MAX_SEQUENCE_LENGTH
                    + ", was " + maxSequenceLength);
        }
        if ((tokenizer3 == null) != (encoder3 == null)) {
            throw new IllegalArgumentException("T5 needs both its tokenizer and its encoder, or neither");
        }
        this.tokenizer = tokenizer;
        this.encoder = encoder;
        this.tokenizer2 = tokenizer2;
        this.encoder2 = encoder2;
        this.tokenizer3 = tokenizer3;
        this.encoder3 = encoder3;
        this.jointWidth = jointWidth;
        this.maxSequenceLength = maxSequenceLength;
    }

    /**
     * The conditioning inputs for {@code copies} images of {@code prompt}; the caller closes them.
     *
     * @param guided whether classifier-free guidance runs, which puts the negative prompt's batch first
     */
    NamedTensors condition(String prompt, String negativePrompt, int copies, boolean guided) {
        Embedding positive = embed(prompt);
        Embedding negative = guided ? embed(negativePrompt == null ? "" : negativePrompt) : null;
        int rows = guided ? 2 * copies : copies;
        float[] states = new float[rows * positive.states.length];
        float[] pooled = new float[rows * positive.pooled.length];
        for (int row = 0; row < rows; row++) {
            Embedding source = guided && row < copies ? negative : positive;
            System.arraycopy(source.states, 0, states, row * source.states.length, source.states.length);
            System.arraycopy(source.pooled, 0, pooled, row * source.pooled.length, source.pooled.length);
        }
        NamedTensors out = new NamedTensors();
        try {
            out.put("encoder_hidden_states", Tensor.ofFloats(states, rows, positive.tokens, jointWidth));
            out.put("pooled_projections", Tensor.ofFloats(pooled, rows, positive.pooled.length));
            return out;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    private Embedding embed(String text) {
        TextEncoder.Output first = encoder.encode(tokenizer.encodePadded(text), true, true);
        TextEncoder.Output second = encoder2.encode(tokenizer2.encodePadded(text), true, true);
        if (first.tokens() != second.tokens()) {
            throw new IllegalStateException("the CLIP encoders return " + first.tokens() + " and " + second.tokens()
                    + " tokens; SD 3 needs the same sequence length from both");
        }
        int clipTokens = first.tokens();
        if (first.width() + second.width() > jointWidth) {
            throw new IllegalStateException("the CLIP states together are " + (first.width() + second.width())
                    + " wide, more than the transformer's joint_attention_dim " + jointWidth);
        }
        int tokens = clipTokens + maxSequenceLength;
        float[] states = new float[tokens * jointWidth];
        for (int t = 0; t < clipTokens; t++) {
            System.arraycopy(first.hidden(), t * first.width(), states, t * jointWidth, first.width());
            System.arraycopy(second.hidden(), t * second.width(), states, t * jointWidth + first.width(),
                    second.width());
        }
        if (encoder3 != null) {
            float[] t5 = encoder3.encode(tokenizer3.encodePadded(text, maxSequenceLength));
            System.arraycopy(t5, 0, states, clipTokens * jointWidth, t5.length);
        }
        float[] pooled = new float[first.pooled().length + second.pooled().length];
        System.arraycopy(first.pooled(), 0, pooled, 0, first.pooled().length);
        System.arraycopy(second.pooled(), 0, pooled, first.pooled().length, second.pooled().length);
        return new Embedding(states, tokens, pooled);
    }

    /** One prompt's states {@code [tokens, jointWidth]} and pooled vector. */
    private record Embedding(float[] states, int tokens, float[] pooled) {
    }

    @Override
    public void close() {
        try {
            encoder.close();
        } finally {
            try {
                encoder2.close();
            } finally {
                if (encoder3 != null) {
                    encoder3.close();
                }
            }
        }
    }
}
