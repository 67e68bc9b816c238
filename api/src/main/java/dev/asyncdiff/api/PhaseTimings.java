package dev.asyncdiff.api;

import java.time.Duration;
import java.util.Locale;

/**
 * Wall-clock time per phase of one generation.
 *
 * @param textEncoding  tokenizing and the text encoders
 * @param imageEncoding the VAE encoder (zero for text-to-image)
 * @param denoising     the denoising loop (the strategy, loading its components on first use included)
 * @param decoding      the VAE decoder
 */
public record PhaseTimings(Duration textEncoding, Duration imageEncoding, Duration denoising, Duration decoding) {
    /** The sum of the phases. */
    public Duration total() {
        return textEncoding.plus(imageEncoding).plus(denoising).plus(decoding);
    }

    /** E.g. {@code text 0.12 s, denoise 3.40 s, decode 0.50 s, total 4.02 s}. */
    public String summary() {
        StringBuilder out = new StringBuilder("text ").append(seconds(textEncoding));
        if (!imageEncoding.isZero()) {
            out.append(", image ").append(seconds(imageEncoding));
        }
        return out.append(", denoise ").append(seconds(denoising)).append(", decode ").append(seconds(decoding))
                .append(", total ").append(seconds(total())).toString();
    }

    private static String seconds(Duration duration) {
        return String.format(Locale.ROOT, "%.2f s", duration.toNanos() / 1e9);
    }
}
