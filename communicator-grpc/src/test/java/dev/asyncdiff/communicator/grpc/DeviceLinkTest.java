package dev.asyncdiff.communicator.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.DeviceBuffer;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.communicator.grpc.proto.JoinRequest;
import dev.asyncdiff.communicator.grpc.proto.Peer;
import dev.asyncdiff.communicator.grpc.proto.World;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two ranks of a grpc world in this JVM with a device link in between (a stand-in for NCCL that hands bytes
 * over through a queue per direction, in order, as NCCL pairs sends and receives): device tensors' bytes take
 * the link, their headers and host tensors take gRPC, and each arrives under its own tag, intact.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DeviceLinkTest {
    private static final Device GPU0 = Device.parse("cuda:0");
    private static final Device GPU1 = Device.parse("cuda:1");
    private final List<GrpcCommunicator> ranks = new ArrayList<>();

    @AfterEach
    void close() {
        ranks.forEach(GrpcCommunicator::close);
    }

    @Test
    void deviceTensorsGoOverTheLinkInHeaderOrderAndHostTensorsOverGrpc() {
        QueueLink link = new QueueLink();
        world(link);
        GrpcCommunicator rank0 = ranks.get(0);
        GrpcCommunicator rank1 = ranks.get(1);
        List<Tensor> sent = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            Tensor tensor = i % 3 == 2 ? Tensor.ofFloats(new float[] {i, -i}, 2) : onDevice(i, 3 + i);
            sent.add(tensor);
            rank0.send(0, 1, "t" + i, tensor);
        }
        // received out of order: the tags, not the order, match a receive to its tensor
        for (int i = 5; i >= 0; i--) {
            try (Tensor received = rank1.recv(0, 1, "t" + i)) {
                assertThat(received.isHostResident()).as("t%d on the host", i).isEqualTo(i % 3 == 2);
                assertThat(received.shape()).isEqualTo(sent.get(i).shape());
                assertThat(hostFloats(received)).as("t%d", i).containsExactly(hostFloats(sent.get(i)));
            }
        }
        assertThat(link.sentOverLink).containsExactly(0, 1, 3, 4);
        sent.forEach(Tensor::close);
    }

    @Test
    void aRankStartedWithAnotherLinkIsRefusedAtTheRendezvous() {
        Peer master = Peer.newBuilder().setRank(0).setHost("127.0.0.1").setPort(1).setDevice("cuda:0")
                .setDeviceLink("nccl").build();
        Rendezvous rendezvous = new Rendezvous(master, 2, new byte[] {1, 2});
        AtomicReference<Throwable> refused = new AtomicReference<>();
        rendezvous.join(JoinRequest.newBuilder().setWorldSize(2).setPeer(Peer.newBuilder().setRank(1)
                .setHost("127.0.0.1").setPort(2).setDevice("cuda:1")).build(), new StreamObserver<>() {
                    @Override
                    public void onNext(World value) {
                    }

                    @Override
                    public void onError(Throwable t) {
                        refused.set(t);
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        assertThat(refused.get()).hasMessageContaining("rank 1 was started with grpc alone, rank 0 runs with the "
                + "nccl device link");
    }

    @Test
    void aDeviceLinkHeaderOnARankWithoutALinkFailsItsReceiveNamingTheSender() {
        world(new QueueLink());
        ranks.get(1).attach(null);
        try (Tensor tensor = onDevice(1, 4)) {
            ranks.get(0).send(0, 1, "x", tensor);
            assertThatThrownBy(() -> ranks.get(1).recv(0, 1, "x")).hasMessageContaining("rank 0 sent 'x' over a "
                    + "device link, but this rank has none");
        }
    }

    /** Two ranks on cuda:0 and cuda:1 of one world, each with the same link. */
    private void world(QueueLink link) {
        RankServer server0 = RankServer.start(0);
        RankServer server1 = RankServer.start(0);
        World world = World.newBuilder()
                .addPeers(Peer.newBuilder().setRank(0).setHost("127.0.0.1").setPort(server0.port()).setDevice("cuda:0")
                        .setDeviceLink("queue"))
                .addPeers(Peer.newBuilder().setRank(1).setHost("127.0.0.1").setPort(server1.port()).setDevice("cuda:1")
                        .setDeviceLink("queue"))
                .build();
        ranks.add(new GrpcCommunicator(0, world, server0, Duration.ofSeconds(30), Duration.ofSeconds(30)));
        ranks.add(new GrpcCommunicator(1, world, server1, Duration.ofSeconds(30), Duration.ofSeconds(30)));
        ranks.forEach(rank -> rank.attach(link));
    }

    private static Tensor onDevice(int seed, int length) {
        float[] values = new float[length];
        for (int i = 0; i < length; i++) {
            values[i] = seed * 10 + i;
        }
        return Tensor.of(DType.FP32, new FakeGpuMemory(GPU0, floats(values)), length);
    }

    private static float[] hostFloats(Tensor tensor) {
        try (Tensor host = tensor.toHost()) {
            return host.toFloatArray();
        }
    }

    private static ByteBuffer floats(float[] values) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            bytes.putFloat(v);
        }
        return bytes.flip();
    }

    /** Bytes handed from sender to receiver through one queue per direction, in order; records what it sent. */
    private static final class QueueLink implements DeviceLink {
        private final BlockingQueue<byte[]> toRank1 = new LinkedBlockingQueue<>();
        private final BlockingQueue<byte[]> toRank0 = new LinkedBlockingQueue<>();
        final List<Integer> sentOverLink = Collections.synchronizedList(new ArrayList<>());

        @Override
        public boolean carries(Tensor tensor, Device to) {
            return tensor.storage() instanceof FakeGpuMemory && to.kind().equals(Device.CUDA_KIND);
        }

        @Override
        public synchronized void send(int to, Tensor tensor) {
            ByteBuffer bytes = ByteBuffer.allocate((int) tensor.byteCount());
            tensor.storage().copyToHost(tensor.byteOffset(), bytes);
            (to == 1 ? toRank1 : toRank0).add(bytes.array());
            sentOverLink.add(indexOf(tensor));
        }

        private static int indexOf(Tensor tensor) {
            return (int) (hostFloats(tensor)[0] / 10);
        }

        @Override
        public Tensor receive(int from, DType dtype, long[] shape) {
            try {
                byte[] bytes = (from == 0 ? toRank1 : toRank0).take();
                return Tensor.of(dtype, new FakeGpuMemory(from == 0 ? GPU1 : GPU0, ByteBuffer.wrap(bytes)), shape);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close() {
        }
    }

    /** Memory the host reaches only by copies, as a GPU's. */
    private static final class FakeGpuMemory implements DeviceBuffer {
        private final Device device;
        private final ByteBuffer bytes;
        private boolean released;

        FakeGpuMemory(Device device, ByteBuffer bytes) {
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
        public ByteBuffer hostView() {
            throw new IllegalStateException("memory on " + device + " has no host view; copy it with toHost()");
        }

        @Override
        public void copyToHost(long offset, ByteBuffer target) {
            target.put(bytes.duplicate().position((int) offset).limit((int) offset + target.remaining()));
        }

        @Override
        public void copyFromHost(long offset, ByteBuffer source) {
            bytes.duplicate().position((int) offset).put(source);
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
}
