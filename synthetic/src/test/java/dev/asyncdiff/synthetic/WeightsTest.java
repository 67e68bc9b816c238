package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.FloatFormats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class WeightsTest {
    private static final long[] SHAPE = {64, 128};

    @Test
    void sameSeedAndNameGiveTheSameBytesWhateverTheOrder() {
        Weights first = new Weights(7);
        ByteBuffer a = first.random("conv_in.weight", DType.FP32, SHAPE, 0.1).get();
        first.random("conv_out.weight", DType.FP32, SHAPE, 0.1).get();
        ByteBuffer b = new Weights(7).random("conv_in.weight", DType.FP32, SHAPE, 0.1).get();
        assertThat(a).isEqualTo(b);
        assertThat(a.remaining()).isEqualTo(64 * 128 * 4);
    }

    @Test
    void otherNamesAndSeedsGiveOtherValues() {
        ByteBuffer a = new Weights(7).random("a.weight", DType.FP32, SHAPE, 0.1).get();
        assertThat(new Weights(7).random("b.weight", DType.FP32, SHAPE, 0.1).get()).isNotEqualTo(a);
        assertThat(new Weights(8).random("a.weight", DType.FP32, SHAPE, 0.1).get()).isNotEqualTo(a);
    }

    @Test
    void valuesHaveTheRequestedSpreadAndNoBias() {
        ByteBuffer bytes = new Weights(1).random("w", DType.FP32, new long[] {100_000}, 0.25).get();
        double sum = 0;
        double squares = 0;
        float max = 0;
        for (int i = 0; i < 100_000; i++) {
            float v = bytes.getFloat(i * 4);
            sum += v;
            squares += v * v;
            max = Math.max(max, Math.abs(v));
        }
        assertThat(sum / 100_000).isCloseTo(0, within(0.005));
        assertThat(Math.sqrt(squares / 100_000)).isCloseTo(0.25, within(0.005));
        assertThat((double) max).isLessThanOrEqualTo(0.25 * Math.sqrt(3) + 1e-6);
    }

    @Test
    void halfPrecisionRoundsTheSameValues() {
        ByteBuffer single = new Weights(3).random("w", DType.FP32, SHAPE, 1).get();
        ByteBuffer half = new Weights(3).random("w", DType.FP16, SHAPE, 1).get();
        assertThat(half.order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 64 * 128; i++) {
            assertThat(half.getShort(i * 2)).isEqualTo(FloatFormats.floatToHalf(single.getFloat(i * 4)));
        }
    }

    @Test
    void filledAndZeroStdGiveConstants() {
        ByteBuffer ones = Weights.filled(DType.FP16, new long[] {3}, 1f).get();
        assertThat(ones.getShort(0)).isEqualTo(FloatFormats.floatToHalf(1f));
        assertThat(ones.getShort(4)).isEqualTo(FloatFormats.floatToHalf(1f));
        ByteBuffer zeros = new Weights(5).random("b", DType.FP32, new long[] {4}, 0).get();
        assertThat(zeros.getFloat(12)).isZero();
    }

    @Test
    void rejectsIntegerTypesAndNegativeStd() {
        Weights weights = new Weights(0);
        assertThatThrownBy(() -> weights.random("ids", DType.INT64, SHAPE, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ids").hasMessageContaining("INT64");
        assertThatThrownBy(() -> weights.random("w", DType.FP32, SHAPE, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("std");
    }
}
