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
