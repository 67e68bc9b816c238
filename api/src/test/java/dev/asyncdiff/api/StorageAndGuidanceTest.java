package dev.asyncdiff.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StorageAndGuidanceTest {
    @Test
    void closingALentTensorHandsItsMemoryBackAtOnceAndItsViewsFail() {
        List<ByteBuffer> returned = new ArrayList<>();
        ByteBuffer memory = ByteBuffer.allocateDirect(16).order(ByteOrder.nativeOrder());
        Tensor t = Tensor.of(DType.FP32, HostBuffer.lend(memory, Device.cpu(1), returned::add), 2, 2);
        assertThat(t.device()).isEqualTo(Device.cpu(1));
        Tensor view = t.view();
        view.close();
        assertThat(returned).as("closing a view releases nothing").isEmpty();
        assertThat(t.isClosed()).isFalse();
        Tensor second = t.reshape(4);
        t.close();
        t.close();
        assertThat(returned).containsExactly(memory);
        assertThat(second.isClosed()).isTrue();
        assertThatThrownBy(second::toFloatArray).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void aStorageOfTheWrongSizeIsRefused() {
        assertThatThrownBy(() -> Tensor.of(DType.FP32, HostBuffer.allocate(12, Device.CPU), 2, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs 16 bytes");
        assertThatThrownBy(() -> HostBuffer.lend(ByteBuffer.allocate(4), Device.CPU, b -> { }))
                .hasMessageContaining("direct");
    }

    @Test
    void batchSlicesAreViewsOfContiguousRows() {
        try (Tensor t = Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 3, 2)) {
            Tensor middle = t.batchSlice(1, 1);
            assertThat(middle.shape()).containsExactly(1, 2);
            assertThat(middle.toFloatArray()).containsExactly(3, 4);
            middle.buffer().putFloat(0, 9f);
            assertThat(t.toFloatArray()[2]).isEqualTo(9f);
            assertThat(t.batchSlice(1, 2).toFloatArray()).containsExactly(9, 4, 5, 6);
            assertThatThrownBy(() -> t.batchSlice(2, 2)).hasMessageContaining("entries [2, 4)");
        }
    }

    @Test
    void classifierFreeGuidanceCombinesBranchesWithOneScaleOrOnePerFrame() {
        try (Tensor u = Tensor.ofFloats(new float[] {1, 1, 1, 1, 1, 1}, 1, 3, 2);
             Tensor c = Tensor.ofFloats(new float[] {2, 3, 2, 3, 2, 3}, 1, 3, 2);
             Tensor scalar = Guidance.of(2).combine(List.of(u, c));
             Tensor ramp = Guidance.perFrame(new double[] {1, 2, 3}, 1).combine(List.of(u, c))) {
            assertThat(scalar.toFloatArray()).containsExactly(3, 5, 3, 5, 3, 5);
            assertThat(ramp.toFloatArray()).containsExactly(2, 3, 3, 5, 4, 7);
            assertThatThrownBy(() -> Guidance.perFrame(new double[] {1, 2}, 1).combine(List.of(u, c)))
                    .hasMessageContaining("axis 1 of the prediction to have 2 entries");
        }
        assertThat(Guidance.of(1.0)).isEqualTo(Guidance.none());
        assertThat(Guidance.of(7.5).branches()).isEqualTo(2);
        assertThat(((Guidance.Classifier) Guidance.of(7.5)).withGuessMode(true).guessMode()).isTrue();
    }

    @Test
    void aStepContextNamesItsBranch() {
        assertThat(new StepContext(0, 3, 999, 0, 2, false).conditional()).isFalse();
        assertThat(new StepContext(2, 3, 1, 0, 1, false).conditional()).isTrue();
        assertThatThrownBy(() -> new StepContext(3, 3, 1, 0, 1, false)).hasMessageContaining("step must be in [0, 3)");
    }
}
