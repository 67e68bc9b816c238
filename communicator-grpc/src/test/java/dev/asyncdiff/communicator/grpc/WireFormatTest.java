package dev.asyncdiff.communicator.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.HostBufferPool;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.communicator.grpc.proto.TensorMessage;
import dev.asyncdiff.spi.RankTask;
import java.util.List;
import org.junit.jupiter.api.Test;

class WireFormatTest {
    @Test
    void aTensorCrossesAsItsRawBytesWithDtypeAndShape() throws Exception {
        try (Tensor sent = Tensor.ofFloats(new float[] {1.5f, -2f, 3.25f, 0f, 7f, -0.5f}, 1, 2, 3)) {
            TensorMessage message = WireFormat.tensor(4, 1, "k3/s2/h", sent);
            assertThat(message.getData().size()).isEqualTo(24);
            assertThat(message.getShapeList()).containsExactly(1L, 2L, 3L);
            WireFormat.Received arrived = read(message, new HostBufferPool(Device.CPU));
            assertThat(arrived.generation()).isEqualTo(4);
            assertThat(arrived.from()).isEqualTo(1);
            assertThat(arrived.tag()).isEqualTo("k3/s2/h");
            try (Tensor received = arrived.tensor()) {
                assertThat(received.dtype()).isEqualTo(DType.FP32);
                assertThat(received.shape()).containsExactly(1, 2, 3);
                assertThat(received.toFloatArray()).containsExactly(1.5f, -2f, 3.25f, 0f, 7f, -0.5f);
            }
        }
    }

    @Test
    void bytesThatDoNotFitTheShapeOrAnUnknownDtypeNameTheSenderAndTag() {
        TensorMessage truncated = TensorMessage.newBuilder().setFrom(2).setTag("k1/s1/h0").setDtype("FP32")
                .addShape(2).addShape(4).setData(ByteString.copyFrom(new byte[12])).build();
        assertThatThrownBy(() -> read(truncated, Tensor::zeros))
                .hasMessageContaining("rank 2 sent 'k1/s1/h0' as FP32 [2, 4] with 12 bytes; that shape and dtype take 32");
        TensorMessage unknown = truncated.toBuilder().setDtype("FP8").build();
        assertThatThrownBy(() -> read(unknown, Tensor::zeros)).hasMessageContaining("unknown dtype 'FP8'");
    }

    private static WireFormat.Received read(TensorMessage message, dev.asyncdiff.api.TensorAllocator memory)
            throws java.io.IOException {
        return WireFormat.read(new java.io.ByteArrayInputStream(message.toByteArray()), memory);
    }

    @Test
    void aRunTaskSurvivesTheWire() {
        RankTask.Run run = new RankTask.Run("s1/g0/c1", 5, 801.0, List.of(
                new RankTask.Feed("timestep", RankTask.Source.TIMESTEP, -1, null),
                new RankTask.Feed("h0", RankTask.Source.RECEIVE, 0, "k5/s1/h0"),
                new RankTask.Feed("encoder_hidden_states", RankTask.Source.CONDITIONING, 0, "cond/encoder_hidden_states")),
                List.of(new RankTask.Delivery("out_sample", 0, "k5/eps/g0"), new RankTask.Delivery("h1", -1, "k6/held")));
        assertThat(WireFormat.run(WireFormat.run(run))).isEqualTo(run);
    }
}
