package dev.asyncdiff.samplers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Asserts diffusers' full-loop checks: {@code sum(abs(x))} and {@code mean(abs(x))} within tolerances. */
final class ParityAssert {
    private ParityAssert() {
    }

    /** diffusers' usual check: sum within 1e-2, mean within 1e-3. */
    static void sumAndMean(float[] x, double sum, double mean) {
        sumAndMean(x, sum, 1e-2, mean, 1e-3);
    }

    /** Explicit tolerances. */
    static void sumAndMean(float[] x, double sum, double sumTolerance, double mean, double meanTolerance) {
        assertThat(DiffusersFixtures.absSum(x)).as("sum(abs(sample))").isCloseTo(sum, within(sumTolerance));
        assertThat(DiffusersFixtures.absMean(x)).as("mean(abs(sample))").isCloseTo(mean, within(meanTolerance));
    }

    /** Only the mean, for the tests that assert only the mean. */
    static void mean(float[] x, double mean) {
        assertThat(DiffusersFixtures.absMean(x)).as("mean(abs(sample))").isCloseTo(mean, within(1e-3));
    }

    /** Every element close to the expected value, relative and absolute. */
    static void allClose(double[] actual, double[] expected, double rtol, double atol) {
        assertThat(actual).as("length").hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            double tolerance = atol + rtol * Math.abs(expected[i]);
            assertThat(actual[i]).as("element %d of %s", i, java.util.Arrays.toString(actual))
                    .isCloseTo(expected[i], within(tolerance));
        }
    }
}
