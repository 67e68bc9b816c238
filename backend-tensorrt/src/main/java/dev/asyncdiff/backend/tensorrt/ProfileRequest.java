package dev.asyncdiff.backend.tensorrt;

import java.util.Locale;

/**
 * The sizes a TensorRT engine is built for: an image side range in pixels (minimum, the size it is
 * tuned for, maximum) and a batch range. Parsed from {@code MIN:MAX} or {@code MIN:OPT:MAX} (pixels,
 * multiples of 8), e.g. {@code 512:1024}; without one, the engine is built for exactly the size the
 * component was split for, which TensorRT tunes best.
 *
 * @param minSide  the smallest image side in pixels, or 0 for the planned size
 * @param optSide  the side TensorRT tunes for, or 0 for the planned size
 * @param maxSide  the largest image side in pixels, or 0 for the planned size
 * @param optBatch the batch TensorRT tunes for
 * @param maxBatch the largest batch (2 per image with guidance in one batch)
 */
public record ProfileRequest(int minSide, int optSide, int maxSide, int optBatch, int maxBatch) {
    private static final int VAE_FACTOR = 8;

    /** The planned size only, batch 1 to 2 (guidance in one batch), tuned for 2. */
    public static final ProfileRequest PLANNED = new ProfileRequest(0, 0, 0, 2, 2);

    /**
     * Validates the sizes.
     *
     * @throws IllegalArgumentException naming the value when a side is not a positive multiple of 8, the
     *                                  sides are out of order, or the batches are not 1 ≤ opt ≤ max
     */
    public ProfileRequest {
        boolean planned = minSide == 0 && optSide == 0 && maxSide == 0;
        if (!planned) {
            for (int side : new int[] {minSide, optSide, maxSide}) {
                if (side <= 0 || side % VAE_FACTOR != 0) {
                    throw new IllegalArgumentException("TensorRT profile sides must be positive multiples of "
                            + VAE_FACTOR + " pixels, got " + describe(minSide, optSide, maxSide));
                }
            }
            if (minSide > optSide || optSide > maxSide) {
                throw new IllegalArgumentException("TensorRT profile sides must be MIN <= OPT <= MAX, got "
                        + describe(minSide, optSide, maxSide));
            }
        }
        if (optBatch < 1 || optBatch > maxBatch) {
            throw new IllegalArgumentException("TensorRT profile batches must be 1 <= optBatch <= maxBatch, got "
                    + optBatch + " and " + maxBatch);
        }
    }

    /**
     * Parses {@code MIN:MAX} (tuned for MIN) or {@code MIN:OPT:MAX}, in pixels, with the batch range.
     *
     * @throws IllegalArgumentException naming the text and the expected form
     */
    public static ProfileRequest parse(String text, int optBatch, int maxBatch) {
        String[] parts = text.trim().split(":");
        if (parts.length < 2 || parts.length > 3) {
            throw new IllegalArgumentException("TensorRT profile '" + text
                    + "': expected MIN:MAX or MIN:OPT:MAX image sides in pixels, e.g. 512:1024");
        }
        int[] sides = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                sides[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("TensorRT profile '" + text + "': '" + parts[i]
                        + "' is not a whole number of pixels");
            }
        }
        return parts.length == 2 ? new ProfileRequest(sides[0], sides[0], sides[1], optBatch, maxBatch)
                : new ProfileRequest(sides[0], sides[1], sides[2], optBatch, maxBatch);
    }

    /** Whether the engine is built for the planned size only. */
    public boolean planned() {
        return minSide == 0;
    }

    /** A stable text of the request, part of the engine cache key. */
    public String key() {
        String sides = planned() ? "planned" : minSide + ":" + optSide + ":" + maxSide;
        return String.format(Locale.ROOT, "%s,batch %d..%d", sides, optBatch, maxBatch);
    }

    private static String describe(int min, int opt, int max) {
        return min + ":" + opt + ":" + max;
    }
}
