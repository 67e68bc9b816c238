package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.adapters.sd.tokenizer.ClipTokenizer;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.PipelineContext;
import java.nio.file.Path;

/**
 * Turns a prompt and a negative prompt into the denoiser's conditioning inputs, batched for
 * classifier-free guidance as {@code [negative × n; prompt × n]} (or {@code prompt × n} without
 * guidance):
 *
 * <ul>
 *   <li>SD 1.x / 2.x: {@code encoder_hidden_states} = the text encoder's {@code last_hidden_state}.</li>
 *   <li>SDXL: {@code encoder_hidden_states} = both encoders' penultimate hidden states concatenated
 *       along the width; {@code text_embeds} = the second encoder's pooled projection;
 *       {@code time_ids} = original size, crop top-left (0, 0) and target size (or, for a UNet
 *       trained with an aesthetic score, original size, crop and score 6.0 / 2.5 for the negative).
 *       An empty negative prompt gives zero embeddings when {@code force_zeros_for_empty_prompt}.</li>
 * </ul>
 *
 * <p>Owns its text encoders; {@link #close()} closes them. Not thread-safe.
 */
public final class PromptConditioner implements AutoCloseable {
    private static final double AESTHETIC_SCORE = 6.0;
    private static final double NEGATIVE_AESTHETIC_SCORE = 2.5;

    private final ClipTokenizer tokenizer;
    private final TextEncoder encoder;
    private final ClipTokenizer tokenizer2;
    private final TextEncoder encoder2;
    private final boolean forceZerosForEmptyPrompt;
    private final int timeIdCount;

    /** SD 1.x / 2.x conditioning over one encoder; takes ownership of it. */
    PromptConditioner(ClipTokenizer tokenizer, TextEncoder encoder) {
        this(tokenizer, encoder, null, null, false, 0);
    }

    /**
     * SD 1.x / 2.x conditioning from a folder's {@code tokenizer/} and {@code text_encoder/model.onnx}, the encoder
     * loaded where {@code context} places models around the loop.
     *
     * @throws dev.asyncdiff.api.MalformedModelException when the tokenizer or the encoder is missing or unreadable
     */
    public static PromptConditioner clip(ModelFolder model, PipelineContext context) {
        ClipTokenizer tokenizer = ClipTokenizer.load(model.directory().resolve("tokenizer"));
        Path file = model.modelFile("text_encoder");
        return new PromptConditioner(tokenizer, new TextEncoder(file, context.loadModel(file)));
    }

    /** SDXL conditioning over two encoders; takes ownership of both. */
    PromptConditioner(ClipTokenizer tokenizer, TextEncoder encoder, ClipTokenizer tokenizer2, TextEncoder encoder2,
                      boolean forceZerosForEmptyPrompt, int timeIdCount) {
        this.tokenizer = tokenizer;
        this.encoder = encoder;
        this.tokenizer2 = tokenizer2;
        this.encoder2 = encoder2;
        this.forceZerosForEmptyPrompt = forceZerosForEmptyPrompt;
        this.timeIdCount = timeIdCount;
        if (encoder2 != null && timeIdCount != 5 && timeIdCount != 6) {
            throw new IllegalArgumentException("SDXL time_ids hold 6 values (or 5 with an aesthetic score), not "
                    + timeIdCount);
        }
    }

    private boolean xl() {
        return encoder2 != null;
    }

    /**
     * The conditioning inputs for {@code copies} images of {@code prompt}; the caller closes them.
     *
     * @param guided whether classifier-free guidance runs, which puts the negative prompt's batch first
     */
    public NamedTensors condition(String prompt, String negativePrompt, int copies, boolean guided, int height, int width) {
        String negative = negativePrompt == null ? "" : negativePrompt;
        Embedding positive = embed(prompt);
        Embedding unconditional = null;
        if (guided) {
            unconditional = xl() && forceZerosForEmptyPrompt && negative.isEmpty() ? positive.zeros() : embed(negative);
        }
        int rows = guided ? 2 * copies : copies;
        int tokens = positive.tokens;
        int hiddenWidth = positive.width;
        float[] hidden = new float[rows * tokens * hiddenWidth];
        for (int row = 0; row < rows; row++) {
            Embedding source = guided && row < copies ? unconditional : positive;
            System.arraycopy(source.hidden, 0, hidden, row * source.hidden.length, source.hidden.length);
        }
        NamedTensors out = new NamedTensors();
        try {
            out.put("encoder_hidden_states", Tensor.ofFloats(hidden, rows, tokens, hiddenWidth));
            if (xl()) {
                int pooledWidth = positive.pooled.length;
                float[] pooled = new float[rows * pooledWidth];
                float[] timeIds = new float[rows * timeIdCount];
                for (int row = 0; row < rows; row++) {
                    boolean negativeRow = guided && row < copies;
                    Embedding source = negativeRow ? unconditional : positive;
                    System.arraycopy(source.pooled, 0, pooled, row * pooledWidth, pooledWidth);
                    System.arraycopy(timeIds(height, width, negativeRow), 0, timeIds, row * timeIdCount, timeIdCount);
                }
                out.put("text_embeds", Tensor.ofFloats(pooled, rows, pooledWidth));
                out.put("time_ids", Tensor.ofFloats(timeIds, rows, timeIdCount));
            }
            return out;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    private float[] timeIds(int height, int width, boolean negative) {
        if (timeIdCount == 5) {
            return new float[] {height, width, 0, 0, (float) (negative ? NEGATIVE_AESTHETIC_SCORE : AESTHETIC_SCORE)};
        }
        return new float[] {height, width, 0, 0, height, width};
    }

    private Embedding embed(String text) {
        if (!xl()) {
            TextEncoder.Output output = encoder.encode(tokenizer.encodePadded(text), false, false);
            return new Embedding(output.hidden(), output.tokens(), output.width(), null);
        }
        TextEncoder.Output first = encoder.encode(tokenizer.encodePadded(text), true, false);
        TextEncoder.Output second = encoder2.encode(tokenizer2.encodePadded(text), true, true);
        if (first.tokens() != second.tokens()) {
            throw new IllegalStateException("the text encoders return " + first.tokens() + " and " + second.tokens()
                    + " tokens; SDXL needs the same sequence length from both");
        }
        int tokens = first.tokens();
        int width = first.width() + second.width();
        float[] hidden = new float[tokens * width];
        for (int t = 0; t < tokens; t++) {
            System.arraycopy(first.hidden(), t * first.width(), hidden, t * width, first.width());
            System.arraycopy(second.hidden(), t * second.width(), hidden, t * width + first.width(), second.width());
        }
        return new Embedding(hidden, tokens, width, second.pooled());
    }

    /** One prompt's embedding: hidden states {@code [tokens, width]} and, for SDXL, the pooled vector. */
    private record Embedding(float[] hidden, int tokens, int width, float[] pooled) {
        Embedding zeros() {
            return new Embedding(new float[hidden.length], tokens, width, pooled == null ? null : new float[pooled.length]);
        }
    }

    @Override
    public void close() {
        try {
            encoder.close();
        } finally {
            if (encoder2 != null) {
                encoder2.close();
            }
        }
    }
}
