package dev.asyncdiff.api;

import java.awt.image.BufferedImage;

/**
 * What one ControlNet is given for a generation: the control image (an edge map, a depth map, a pose …, already
 * preprocessed; resized to the output size), its conditioning scale, and the part of the denoising it acts in.
 * The {@code i}-th control image of a request goes to the pipeline's {@code i}-th ControlNet.
 *
 * @param image the control image; colours are read as RGB in [0, 1]
 * @param scale diffusers' {@code controlnet_conditioning_scale}: the ControlNet's residuals are multiplied by it
 * @param start diffusers' {@code control_guidance_start}: the fraction of the steps before which it is off
 * @param end   diffusers' {@code control_guidance_end}: the fraction of the steps after which it is off
 */
public record ControlImage(BufferedImage image, double scale, double start, double end) {
    /** The default conditioning scale, as diffusers. */
    public static final double DEFAULT_SCALE = 1.0;

    /**
     * Validates the parts.
     *
     * @throws IllegalArgumentException naming the part that is out of range
     */
    public ControlImage {
        if (image == null) {
            throw new IllegalArgumentException("a control image is required");
        }
        if (!Double.isFinite(scale)) {
            throw new IllegalArgumentException("the conditioning scale must be finite, was " + scale);
        }
        if (!(start >= 0 && start < end && end <= 1)) {
            throw new IllegalArgumentException("control guidance start and end must satisfy 0 <= start < end <= 1, were "
                    + start + " and " + end);
        }
    }

    /** {@code image} at scale {@code scale}, acting over every step. */
    public static ControlImage of(BufferedImage image, double scale) {
        return new ControlImage(image, scale, 0, 1);
    }

    /** {@code image} at the default scale, acting over every step. */
    public static ControlImage of(BufferedImage image) {
        return of(image, DEFAULT_SCALE);
    }

    /**
     * Whether the ControlNet acts at step {@code step} of {@code steps}: diffusers'
     * {@code 1 - (i / len < start or (i + 1) / len > end)}.
     */
    public boolean actsAt(int step, int steps) {
        return !((double) step / steps < start || (double) (step + 1) / steps > end);
    }
}
