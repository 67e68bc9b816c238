package dev.asyncdiff.communicator.grpc;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.communicator.grpc.proto.Peer;
import dev.asyncdiff.communicator.grpc.proto.World;
import dev.asyncdiff.spi.Communicator;
import dev.asyncdiff.spi.RankTask;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The {@code grpc} communicator for rank 0: the first strategy that asks holds the rendezvous on
 * {@code MASTER_ADDR:MASTER_PORT} and waits for the other {@code WORLD_SIZE − 1} ranks
 * ({@code asyncdiff worker}); later strategies of this process reuse the world, which stays up until the
 * process exits. Rank r runs on the r-th device of the strategy, which must be the device that rank joined with.
 * With a {@link DeviceLink.Factory} (the {@code nccl} communicator), device-resident tensors travel over the
 * link every rank opens after the rendezvous.
 */
public final class GrpcCommunicatorProvider implements GrpcWorldProvider {
    public static final String NAME = "grpc";
    private static final Map<String, GrpcCommunicator> WORLDS = new HashMap<>();

    private final Map<String, String> environment;
    private final DeviceLink.Factory link;

    /** Settings from this process's environment. */
    public GrpcCommunicatorProvider() {
        this(System.getenv());
    }

    /** Settings from {@code environment} ({@code WORLD_SIZE}, {@code MASTER_PORT} …). */
    public GrpcCommunicatorProvider(Map<String, String> environment) {
        this(environment, null);
    }

    /**
     * Settings from {@code environment}, with device-resident tensors over the links {@code link} makes (null:
     * none); the communicator is named after the link.
     */
    public GrpcCommunicatorProvider(Map<String, String> environment, DeviceLink.Factory link) {
        this.environment = Map.copyOf(environment);
        this.link = link;
    }

    @Override
    public String name() {
        return link == null ? NAME : link.name();
    }

    @Override
    public DeviceLink.Factory deviceLink() {
        return link;
    }

    /**
     * @throws IllegalArgumentException when this process is not rank 0, or the devices do not match the world
     * @throws IllegalStateException    when the other ranks do not join in time
     */
    @Override
    public Communicator create(List<Device> devices) {
        GrpcSettings settings = GrpcSettings.fromEnvironment(environment, devices.size());
        if (settings.rank() != 0) {
            throw new IllegalArgumentException("RANK=" + settings.rank() + ": the process that generates is rank 0; "
                    + "start the other ranks with `asyncdiff worker`");
        }
        if (settings.worldSize() != devices.size()) {
            throw new IllegalArgumentException("WORLD_SIZE=" + settings.worldSize() + " ranks, but the strategy places "
                    + "components on " + devices.size() + " devices " + devices + "; list one device per rank");
        }
        GrpcCommunicator world;
        synchronized (WORLDS) {
            world = WORLDS.get(settings.master());
            if (world == null) {
                world = rendezvous(settings, devices.get(0), link);
                WORLDS.put(settings.master(), world);
                GrpcCommunicator created = world;
                Runtime.getRuntime().addShutdownHook(new Thread(created::close, "asyncdiff-grpc-shutdown"));
            }
        }
        for (int r = 0; r < devices.size(); r++) {
            if (!world.device(r).equals(devices.get(r))) {
                throw new IllegalArgumentException(world.describe(r) + " joined with device " + world.device(r)
                        + ", but the strategy places device " + devices.get(r) + " at rank " + r
                        + "; list the ranks' devices in rank order");
            }
        }
        if (!world.linkName().equals(link == null ? "" : link.name())) {
            throw new IllegalArgumentException("the world on " + settings.master() + " runs " + world.name()
                    + "; this process asked for " + name() + " on it");
        }
        return new Shared(world);
    }

    /** Closes the world of {@code masterPort} (its connections and server), for tests and services that stop. */
    public static void shutdown(String master) {
        GrpcCommunicator world;
        synchronized (WORLDS) {
            world = WORLDS.remove(master);
        }
        if (world != null) {
            world.close();
        }
    }

    private static GrpcCommunicator rendezvous(GrpcSettings settings, Device device, DeviceLink.Factory link) {
        RankServer server = RankServer.start(settings.masterPort());
        GrpcCommunicator comm = null;
        try {
            Peer master = Peer.newBuilder().setRank(0).setHost(settings.masterAddr()).setPort(server.port())
                    .setDevice(device.toString()).setDeviceLink(link == null ? "" : link.name()).build();
            Rendezvous rendezvous = new Rendezvous(master, settings.worldSize(), link == null ? new byte[0]
                    : link.newId());
            server.serveRendezvous(rendezvous);
            World world = rendezvous.await(settings.joinTimeout());
            comm = new GrpcCommunicator(0, world, server, settings.stepTimeout(), settings.joinTimeout());
            if (link != null) {
                comm.attach(DeviceLinks.open(link, 0, world, settings.joinTimeout()));
            }
            return comm;
        } catch (RuntimeException e) {
            if (comm != null) {
                comm.close();
            } else {
                server.close();
            }
            throw e;
        }
    }

    /** A strategy's use of the world: closing it fails what waits, but leaves the world up for the next one. */
    private record Shared(GrpcCommunicator world) implements Communicator {
        @Override
        public String name() {
            return world.name();
        }

        @Override
        public int size() {
            return world.size();
        }

        @Override
        public Device device(int rank) {
            return world.device(rank);
        }

        @Override
        public boolean isLocal(int rank) {
            return world.isLocal(rank);
        }

        @Override
        public CompletableFuture<RankTask.Done> submit(int rank, RankTask task) {
            return world.submit(rank, task);
        }

        @Override
        public void send(int from, int to, String tag, Tensor tensor) {
            world.send(from, to, tag, tensor);
        }

        @Override
        public Tensor recv(int from, int to, String tag) {
            return world.recv(from, to, tag);
        }

        @Override
        public List<Tensor> allGather(int rank, List<Integer> group, String tag, Tensor tensor) {
            return world.allGather(rank, group, tag, tensor);
        }

        @Override
        public long bytesTransferred() {
            return world.bytesTransferred();
        }

        @Override
        public void abort(Throwable cause) {
            world.abort(cause);
        }

        @Override
        public void reset() {
            world.reset();
        }

        @Override
        public void close() {
        }

        @Override
        public String toString() {
            return world.name() + " world of " + world.size() + " ranks";
        }
    }
}
