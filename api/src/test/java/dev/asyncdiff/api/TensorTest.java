package dev.asyncdiff.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class TensorTest {
    @Test
    void floatsRoundTripWithTheirShape() {
        try (Tensor t = Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3)) {
            assertThat(t.dtype()).isEqualTo(DType.FP32);
            assertThat(t.shape()).containsExactly(2, 3);
            assertThat(t.elementCount()).isEqualTo(6);
            assertThat(t.byteCount()).isEqualTo(24);
            assertThat(t.device()).isEqualTo(Device.CPU);
            assertThat(t.toFloatArray()).containsExactly(1, 2, 3, 4, 5, 6);
            assertThat(t.buffer().isDirect()).isTrue();
        }
    }

    @Test
    void shapesAndCountsAreCheckedOnConstruction() {
        assertThatThrownBy(() -> Tensor.ofFloats(new float[5], 2, 3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[2, 3] holds 6 elements but 5 values were given");
        assertThatThrownBy(() -> Tensor.zeros(DType.FP16, 2, -1)).hasMessageContaining(">= 0");
        assertThatThrownBy(() -> Tensor.wrap(DType.FP32, ByteBuffer.allocate(8), Device.CPU, 2))
                .hasMessageContaining("direct");
        assertThatThrownBy(() -> Tensor.wrap(DType.FP32, ByteBuffer.allocateDirect(12).order(ByteOrder.nativeOrder()),
                Device.CPU, 2)).hasMessageContaining("needs 8 bytes, buffer has 12");
        assertThat(Tensor.scalar(3f).shape()).isEmpty();
    }

    @Test
    void conversionsBetweenDtypes() {
        try (Tensor f = Tensor.ofFloats(new float[] {1.5f, -2f, 65504f, 1e-8f}, 4);
             Tensor h = f.to(DType.FP16);
             Tensor b = f.to(DType.BF16);
             Tensor back = h.to(DType.FP32)) {
            assertThat(h.byteCount()).isEqualTo(8);
            assertThat(back.toFloatArray()).containsExactly(1.5f, -2f, 65504f, 0f);
            assertThat(b.toFloatArray()[0]).isEqualTo(1.5f);
        }
        try (Tensor ids = Tensor.ofLongs(new long[] {49406, 7, 49407}, 1, 3);
             Tensor ints = ids.to(DType.INT32);
             Tensor floats = ids.to(DType.FP32)) {
            assertThat(ints.toLongArray()).containsExactly(49406, 7, 49407);
            assertThat(floats.toFloatArray()).containsExactly(49406f, 7f, 49407f);
        }
        try (Tensor big = Tensor.ofLongs(new long[] {1L << 40}, 1)) {
            assertThatThrownBy(() -> big.to(DType.INT32)).isInstanceOf(ArithmeticException.class);
        }
        try (Tensor f = Tensor.ofFloats(new float[] {1f}, 1)) {
            assertThatThrownBy(f::toLongArray).hasMessageContaining("integer tensor");
        }
    }

    @Test
    void reshapeIsAViewOfTheSameMemory() {
        try (Tensor t = Tensor.ofFloats(new float[] {1, 2, 3, 4}, 4)) {
            Tensor view = t.reshape(2, 2);
            view.buffer().putFloat(0, 9f);
            assertThat(t.toFloatArray()[0]).isEqualTo(9f);
            assertThatThrownBy(() -> t.reshape(3)).hasMessageContaining("cannot reshape");
        }
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseNamesTheTensor() {
        Tensor t = Tensor.ofFloats(new float[] {1}, 1);
        t.close();
        t.close();
        assertThat(t.isClosed()).isTrue();
        assertThatThrownBy(t::toFloatArray).isInstanceOf(IllegalStateException.class).hasMessageContaining("Tensor")
                .hasMessageContaining("closed");
    }

    @Test
    void namedTensorsOwnWhatTheyHold() {
        Tensor a = Tensor.ofFloats(new float[] {1}, 1);
        Tensor b = Tensor.ofFloats(new float[] {2}, 1);
        NamedTensors set = new NamedTensors().put("a", a).put("b", b);
        Tensor taken = set.take("b");
        assertThatThrownBy(() -> set.get("c")).hasMessageContaining("no tensor named 'c'; have [a]");
        assertThatThrownBy(() -> set.put("a", b)).hasMessageContaining("duplicate");
        set.close();
        assertThat(a.isClosed()).isTrue();
        assertThat(taken.isClosed()).isFalse();
        taken.close();
    }
}
