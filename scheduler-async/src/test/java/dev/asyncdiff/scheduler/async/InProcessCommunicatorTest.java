package dev.asyncdiff.scheduler.async;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.Communicator;
import dev.asyncdiff.spi.CommunicatorAbortedException;
import dev.asyncdiff.spi.ProviderCatalog;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class InProcessCommunicatorTest {
    private static final List<Device> THREE = List.of(Device.CPU, Device.cpu(1),
            Device.cpu(2));

    @Test
    void theProviderIsFoundByServiceLoader() {
        assertThat(ProviderCatalog.load().communicators().names()).contains("inprocess");
        try (Communicator comm = ProviderCatalog.load().communicators().get("inprocess").create(THREE)) {
            assertThat(comm.size()).isEqualTo(3);
            assertThat(comm.device(2)).isEqualTo(Device.cpu(2));
            assertThatThrownBy(() -> comm.device(3)).hasMessageContaining("rank must be in [0, 3), was 3");
        }
    }

    @Test
    void aReceivedTensorIsAViewOfTheSentOneNotACopy() {
        try (Communicator comm = new InProcessCommunicator(THREE);
             Tensor sent = Tensor.ofFloats(new float[] {1, 2}, 2)) {
            comm.send(0, 1, "x", sent);
            assertThatThrownBy(() -> comm.send(0, 1, "x", sent)).hasMessageContaining("already pending");
            Tensor received = comm.recv(0, 1, "x");
            sent.buffer().putFloat(0, 7f);
            assertThat(received.toFloatArray()).containsExactly(7, 2);
            received.close();
            assertThat(sent.isClosed()).as("closing the receiver's view keeps the sender's tensor").isFalse();
        }
    }

    /** Device memory of a "gpu" kind that can copy itself to another such device, as CUDA peer copies do. */
    private static final class PeerMemory implements dev.asyncdiff.api.DeviceBuffer {
        private final Device device;
        private final java.nio.ByteBuffer bytes;
        private boolean released;

        PeerMemory(Device device, java.nio.ByteBuffer bytes) {
            this.device = device;
            this.bytes = bytes;
        }

        @Override
        public Device device() {
            return device;
        }

        @Override
        public long byteSize() {
            return bytes.capacity();
        }

        @Override
        public boolean isHostAccessible() {
            return false;
        }

        @Override
        public java.nio.ByteBuffer hostView() {
            throw new IllegalStateException("device memory");
        }

        @Override
        public void copyToHost(long offset, java.nio.ByteBuffer target) {
            target.put(bytes.duplicate().position((int) offset).limit((int) offset + target.remaining()));
        }

        @Override
        public void copyFromHost(long offset, java.nio.ByteBuffer source) {
            bytes.duplicate().position((int) offset).put(source);
        }

        @Override
        public java.util.Optional<dev.asyncdiff.api.DeviceBuffer> copyToDevice(Device target, long offset, long length) {
            if (!target.kind().equals("gpu")) {
                return java.util.Optional.empty();
            }
            java.nio.ByteBuffer copy = java.nio.ByteBuffer.allocateDirect((int) length);
            copy.put(bytes.duplicate().position((int) offset).limit((int) (offset + length))).clear();
            return java.util.Optional.of(new PeerMemory(target, copy));
        }

        @Override
        public boolean isReleased() {
            return released;
        }

        @Override
        public void close() {
            released = true;
        }
    }

    @Test
    void aTensorInDeviceMemoryReachesAnotherDeviceByAPeerCopyWhereItCanElseThroughTheHost() {
        Device gpu0 = new Device("gpu", 0);
        Device gpu1 = new Device("gpu", 1);
        java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocateDirect(8).order(java.nio.ByteOrder.nativeOrder());
        bytes.putFloat(0, 3f).putFloat(4, 4f);
        try (Communicator comm = new InProcessCommunicator(List.of(gpu0, gpu1, Device.CPU));
             Tensor sent = Tensor.of(dev.asyncdiff.api.DType.FP32, new PeerMemory(gpu0, bytes), 2)) {
            comm.send(0, 1, "peer", sent);
            try (Tensor received = comm.recv(0, 1, "peer")) {
                assertThat(received.device()).isEqualTo(gpu1);
                assertThat(received.isHostResident()).isFalse();
                assertThat(received.storage()).isNotSameAs(sent.storage());
                try (Tensor host = received.toHost()) {
                    assertThat(host.toFloatArray()).containsExactly(3f, 4f);
                }
            }
            comm.send(0, 2, "host", sent);
            try (Tensor received = comm.recv(0, 2, "host")) {
                assertThat(received.isHostResident()).isTrue();
                assertThat(received.toFloatArray()).containsExactly(3f, 4f);
            }
        }
    }

    @Test
    void broadcastReachesEveryRankAndAllGatherReturnsThePartsInGroupOrder() {
        try (Communicator comm = new InProcessCommunicator(THREE);
             Tensor condition = Tensor.ofFloats(new float[] {3}, 1);
             Tensor a = Tensor.ofFloats(new float[] {1}, 1);
             Tensor b = Tensor.ofFloats(new float[] {2}, 1)) {
            comm.broadcast(0, List.of(1, 2), "c", condition);
            assertThat(comm.recv(0, 2, "c").toFloatArray()).containsExactly(3);
            assertThat(comm.recv(0, 1, "c").toFloatArray()).containsExactly(3);
            CompletableFuture<List<Tensor>> other = CompletableFuture.supplyAsync(
                    () -> comm.allGather(2, List.of(0, 2), "g", b));
            List<Tensor> mine = comm.allGather(0, List.of(0, 2), "g", a);
            assertThat(mine).extracting(t -> t.toFloatArray()[0]).containsExactly(1f, 2f);
            assertThat(other.join()).extracting(t -> t.toFloatArray()[0]).containsExactly(1f, 2f);
            assertThatThrownBy(() -> comm.allGather(1, List.of(0, 2), "h", a)).hasMessageContaining("not in the all-gather");
        }
    }

    @Test
    void anAbortWakesAWaitingReceiveWithTheCauseAndResetClearsIt() {
        try (Communicator comm = new InProcessCommunicator(THREE)) {
            CompletableFuture<Tensor> waiting = CompletableFuture.supplyAsync(() -> comm.recv(1, 2, "never"));
            IllegalStateException boom = new IllegalStateException("rank 1 failed");
            comm.abort(boom);
            assertThatThrownBy(waiting::join).isInstanceOf(CompletionException.class)
                    .hasCauseInstanceOf(CommunicatorAbortedException.class).hasRootCause(boom);
            comm.reset();
            try (Tensor t = Tensor.scalar(1f)) {
                comm.send(1, 2, "again", t);
                assertThat(comm.recv(1, 2, "again").toFloatArray()).containsExactly(1f);
            }
        }
    }
}
