package dev.asyncdiff.api;

import static dev.asyncdiff.api.FloatFormats.bfloat16ToFloat;
import static dev.asyncdiff.api.FloatFormats.floatToBfloat16;
import static dev.asyncdiff.api.FloatFormats.floatToHalf;
import static dev.asyncdiff.api.FloatFormats.halfToFloat;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class FloatFormatsTest {
    private static int half(float value) {
        return floatToHalf(value) & 0xFFFF;
    }

    @Test
    void everyHalfRoundTripsThroughFloatExactly() {
        for (int bits = 0; bits <= 0xFFFF; bits++) {
            float value = halfToFloat((short) bits);
            boolean nan = (bits & 0x7C00) == 0x7C00 && (bits & 0x3FF) != 0;
            if (nan) {
                assertThat(value).isNaN();
                assertThat(half(value) & 0x7C00).isEqualTo(0x7C00);
                assertThat(half(value) & 0x3FF).isNotZero();
            } else {
                assertThat(half(value)).as("half bits %04x", bits).isEqualTo(bits);
            }
        }
    }

    @Test
    void knownHalfValues() {
        assertThat(half(0f)).isEqualTo(0x0000);
        assertThat(half(-0f)).isEqualTo(0x8000);
        assertThat(half(1f)).isEqualTo(0x3C00);
        assertThat(half(-2f)).isEqualTo(0xC000);
        assertThat(half(65504f)).as("largest half").isEqualTo(0x7BFF);
        assertThat(half(0x1p-14f)).as("smallest normal").isEqualTo(0x0400);
        assertThat(half(0x1p-24f)).as("smallest subnormal").isEqualTo(0x0001);
        assertThat(halfToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
        assertThat(halfToFloat((short) 0x03FF)).as("largest subnormal").isEqualTo(1023 * 0x1p-24f);
    }

    @Test
    void infinitiesOverflowAndUnderflow() {
        assertThat(half(Float.POSITIVE_INFINITY)).isEqualTo(0x7C00);
        assertThat(half(Float.NEGATIVE_INFINITY)).isEqualTo(0xFC00);
        assertThat(half(65520f)).as("rounds up past the largest half").isEqualTo(0x7C00);
        assertThat(half(65519f)).as("rounds down to the largest half").isEqualTo(0x7BFF);
        assertThat(half(1e10f)).isEqualTo(0x7C00);
        assertThat(half(0x1p-26f)).as("below half the smallest subnormal").isEqualTo(0x0000);
        assertThat(half(-0x1p-26f)).isEqualTo(0x8000);
        assertThat(halfToFloat((short) 0x7C00)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(halfToFloat((short) 0xFC00)).isEqualTo(Float.NEGATIVE_INFINITY);
    }

    @Test
    void nanStaysNan() {
        assertThat(halfToFloat(floatToHalf(Float.NaN))).isNaN();
        assertThat(halfToFloat(floatToHalf(Float.intBitsToFloat(0x7F800001)))).as("signalling NaN payload").isNaN();
        assertThat(bfloat16ToFloat(floatToBfloat16(Float.NaN))).isNaN();
        assertThat(bfloat16ToFloat(floatToBfloat16(Float.intBitsToFloat(0x7F800001)))).isNaN();
    }

    @Test
    void halfRoundsToNearestTiesToEven() {
        float ulp = 0x1p-10f;
        assertThat(halfToFloat(floatToHalf(1 + ulp / 2))).as("tie goes to the even 1.0").isEqualTo(1f);
        assertThat(halfToFloat(floatToHalf(1 + 3 * ulp / 2))).as("tie goes to the even 1 + 2ulp").isEqualTo(1 + 2 * ulp);
        assertThat(halfToFloat(floatToHalf(1 + ulp / 2 + 0x1p-20f))).as("above the tie").isEqualTo(1 + ulp);
        assertThat(halfToFloat(floatToHalf(1 + ulp / 2 - 0x1p-20f))).as("below the tie").isEqualTo(1f);
        assertThat(halfToFloat(floatToHalf(0x1p-25f))).as("subnormal tie to even zero").isEqualTo(0f);
        assertThat(halfToFloat(floatToHalf(3 * 0x1p-25f))).as("subnormal tie to even 2^-23").isEqualTo(0x1p-23f);
        assertThat(halfToFloat(floatToHalf(2047 * 0x1p-25f))).as("rounds up into the normals")
                .isEqualTo(0x1p-14f);
    }

    @Test
    void bfloat16RoundsToNearestEvenAndRoundTrips() {
        for (int bits = 0; bits <= 0xFFFF; bits++) {
            float value = bfloat16ToFloat((short) bits);
            if (!Float.isNaN(value)) {
                assertThat(floatToBfloat16(value) & 0xFFFF).isEqualTo(bits);
            }
        }
        float ulp = 0x1p-7f;
        assertThat(bfloat16ToFloat(floatToBfloat16(1 + ulp / 2))).isEqualTo(1f);
        assertThat(bfloat16ToFloat(floatToBfloat16(1 + 3 * ulp / 2))).isEqualTo(1 + 2 * ulp);
        assertThat(bfloat16ToFloat(floatToBfloat16(Float.MAX_VALUE))).isEqualTo(Float.POSITIVE_INFINITY);
    }
}
