package dev.asyncdiff.tck;

import static org.assertj.core.api.Assertions.assertThat;

/** Comparisons of float outputs, with AssertJ messages that say what diverged and by how much. */
public final class Numerics {
    private Numerics() {
    }

    /** ||actual − expected|| / ||expected||. */
    public static double relativeL2(float[] actual, float[] expected) {
        requireSameLength(actual, expected);
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = (double) actual[i] - expected[i];
            diff += d * d;
            norm += (double) expected[i] * expected[i];
        }
        return norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
    }

    /** The largest |actual − expected|. */
    public static double maxAbsDiff(float[] actual, float[] expected) {
        requireSameLength(actual, expected);
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs((double) actual[i] - expected[i]));
        }
        return max;
    }

    /** The peak signal-to-noise ratio in dB of two images with values in [0, 1]; infinite when equal. */
    public static double psnr(float[] actual, float[] expected) {
        requireSameLength(actual, expected);
        double squared = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = (double) actual[i] - expected[i];
            squared += d * d;
        }
        double mse = squared / expected.length;
        return mse == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(1.0 / mse);
    }

    /**
     * The mean structural similarity (SSIM, Wang et al. 2004) of two image batches {@code [batch, channels,
     * height, width]} with values in [0, 1]: over every 7 × 7 window inside each plane (smaller planes: the
     * largest odd window that fits), with uniform weights, sample covariances and the paper's constants
     * {@code C1 = 0.01²}, {@code C2 = 0.03²}; 1 when equal.
     *
     * @throws IllegalArgumentException when the lengths or the shape do not match
     */
    public static double ssim(float[] actual, float[] expected, long[] shape) {
        requireSameLength(actual, expected);
        if (shape.length != 4 || shape[0] * shape[1] * shape[2] * shape[3] != expected.length) {
            throw new IllegalArgumentException("SSIM needs images [batch, channels, height, width] of "
                    + expected.length + " values, got shape " + java.util.Arrays.toString(shape));
        }
        int height = (int) shape[2];
        int width = (int) shape[3];
        int window = Math.min(7, Math.min(height, width));
        window -= window % 2 == 0 ? 1 : 0;
        int planes = (int) (shape[0] * shape[1]);
        int count = window * window;
        double c1 = 0.01 * 0.01;
        double c2 = 0.03 * 0.03;
        double total = 0;
        long windows = 0;
        for (int plane = 0; plane < planes; plane++) {
            int base = plane * height * width;
            for (int top = 0; top + window <= height; top++) {
                for (int left = 0; left + window <= width; left++) {
                    double sx = 0;
                    double sy = 0;
                    double sxx = 0;
                    double syy = 0;
                    double sxy = 0;
                    for (int r = top; r < top + window; r++) {
                        for (int c = left; c < left + window; c++) {
                            double x = actual[base + r * width + c];
                            double y = expected[base + r * width + c];
                            sx += x;
                            sy += y;
                            sxx += x * x;
                            syy += y * y;
                            sxy += x * y;
                        }
                    }
                    double mx = sx / count;
                    double my = sy / count;
                    double vx = (sxx - count * mx * mx) / (count - 1);
                    double vy = (syy - count * my * my) / (count - 1);
                    double cov = (sxy - count * mx * my) / (count - 1);
                    total += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
                    windows++;
                }
            }
        }
        return total / windows;
    }

    /**
     * Asserts {@code |actual − expected| <= atol + rtol · |expected|} element-wise, naming the first
     * element that is not, as numpy's {@code allclose}.
     */
    public static void assertAllClose(float[] actual, float[] expected, double rtol, double atol) {
        assertThat(actual).as("length").hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            double allowed = atol + rtol * Math.abs(expected[i]);
            if (!(Math.abs((double) actual[i] - expected[i]) <= allowed)) {
                throw new AssertionError(String.format(java.util.Locale.ROOT,
                        "element %d differs: actual %s, expected %s (|diff| %.3g > atol %.3g + rtol %.3g * |expected|); "
                                + "max |diff| over all elements %.3g", i, actual[i], expected[i],
                        Math.abs((double) actual[i] - expected[i]), atol, rtol, maxAbsDiff(actual, expected)));
            }
        }
    }

    private static void requireSameLength(float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            throw new IllegalArgumentException("cannot compare " + actual.length + " values with " + expected.length);
        }
    }
}
