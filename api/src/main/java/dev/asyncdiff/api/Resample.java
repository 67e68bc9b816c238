package dev.asyncdiff.api;

/**
 * The resampling filters of Pillow's {@code Image.resize}, which diffusers' image processors use: Lanczos (their
 * default, {@code resample="lanczos"}) and bicubic (the x4 upscaler's). {@link Images#resize(java.awt.image.BufferedImage,
 * int, int, Resample)} reproduces Pillow's two-pass fixed-point resampling pixel for pixel.
 */
public enum Resample {
    /** Pillow's {@code LANCZOS}: a sinc windowed by a sinc, 3 lobes, widened by the downscale factor. */
    LANCZOS(3.0) {
        @Override
        double weight(double x) {
            return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
        }
    },
    /** Pillow's {@code BICUBIC}: cubic convolution with a = −0.5, widened by the downscale factor. */
    BICUBIC(2.0) {
        @Override
        double weight(double x) {
            double a = -0.5;
            double t = Math.abs(x);
            if (t < 1.0) {
                return ((a + 2.0) * t - (a + 3.0)) * t * t + 1;
            }
            return t < 2.0 ? (((t - 5) * t + 8) * t - 4) * a : 0.0;
        }
    };

    private final double support;

    Resample(double support) {
        this.support = support;
    }

    /** The filter's half-width at scale 1. */
    double support() {
        return support;
    }

    /** The filter's weight at distance {@code x} (in source pixels at scale 1). */
    abstract double weight(double x);

    private static double sinc(double x) {
        if (x == 0.0) {
            return 1.0;
        }
        double px = x * Math.PI;
        return Math.sin(px) / px;
    }
}
