package dev.asyncdiff.communicator.grpc;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.communicator.grpc.proto.JoinRequest;
import dev.asyncdiff.communicator.grpc.proto.Peer;
import dev.asyncdiff.communicator.grpc.proto.RankGrpc;
import dev.asyncdiff.communicator.grpc.proto.World;
import dev.asyncdiff.scheduler.async.DeviceWorker;
import dev.asyncdiff.scheduler.async.RankRuntime;
import dev.asyncdiff.spi.Backend;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A rank other than 0 ({@code asyncdiff worker}): listens on its own port, joins the master, then loads and
 * runs the components rank 0 places on it until rank 0 ends the session — then exits, or joins the next
 * master when it is {@code persistent} (a service whose rank 0 restarts).
 */
public final class GrpcWorker {
    private static final Logger LOG = LoggerFactory.getLogger(GrpcWorker.class);
    private static final Duration RETRY = Duration.ofMillis(250);

    /**
     * @param settings   the world: this rank, the world size, the master, the timeouts
     * @param host       the address other ranks reach this one at
     * @param port       the port to listen on; 0 for any free one
     * @param device     this rank's device
     * @param modelHash  the SHA-256 of the denoiser this rank is for (components of another are refused); null: any
     * @param model      the model folder it was started with, for messages; null when none
     * @param store      where received component files are kept, by digest
     * @param persistent whether to join the next master when a session ends
     * @param link       the device link every rank opens after the rendezvous (nccl); null for grpc alone
     */
    public record Options(GrpcSettings settings, String host, int port, Device device, String modelHash, String model,
                          Path store, boolean persistent, DeviceLink.Factory link) {
        public Options {
            if (settings.rank() == 0) {
                throw new IllegalArgumentException("rank 0 runs the loop (asyncdiff generate --communicator grpc); "
                        + "a worker is rank 1 or higher");
            }
        }
    }

    private GrpcWorker() {
    }

    /**
     * Serves sessions until one ends and this worker is not persistent.
     *
     * @return why the last session ended
     * @throws IllegalStateException naming the master when it cannot be joined in time or refuses this rank
     */
    public static String serve(Options options, Backend backend) {
        while (true) {
            String why = session(options, backend);
            LOG.info("rank {}: {}", options.settings().rank(), why);
            if (!options.persistent()) {
                return why;
            }
        }
    }

    private static String session(Options options, Backend backend) {
        GrpcSettings settings = options.settings();
        RankServer server = RankServer.start(options.port());
        GrpcCommunicator comm = null;
        DeviceWorker worker = null;
        try {
            Peer me = Peer.newBuilder().setRank(settings.rank()).setHost(options.host()).setPort(server.port())
                    .setDevice(options.device().toString()).setModelHash(options.modelHash() == null ? ""
                            : options.modelHash()).setModel(options.model() == null ? "" : options.model())
                    .setDeviceLink(options.link() == null ? "" : options.link().name()).build();
            LOG.info("rank {} listening on {}:{}, joining the master at {}", settings.rank(), options.host(),
                    server.port(), settings.master());
            World world = join(settings, me);
            comm = new GrpcCommunicator(settings.rank(), world, server, settings.stepTimeout(), settings.joinTimeout());
            if (options.link() != null) {
                comm.attach(DeviceLinks.open(options.link(), settings.rank(), world, settings.joinTimeout()));
            }
            worker = new DeviceWorker(options.device());
            RankRuntime runtime = new RankRuntime(settings.rank(), options.device(), backend, comm, worker.pool());
            CompletableFuture<String> ended = new CompletableFuture<>();
            GrpcCommunicator sessionComm = comm;
            DeviceWorker sessionWorker = worker;
            ComponentFiles.Store store = new ComponentFiles.Store(options.store());
            server.serveTasks(replies -> new WorkerSession(sessionComm, server, sessionWorker, runtime, store,
                    options.modelHash(), options.model(), replies, ended), store);
            LOG.info("rank {} joined a world of {} ranks", settings.rank(), world.getPeersCount());
            return ended.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        } catch (ExecutionException e) {
            return "the session failed: " + e.getCause();
        } finally {
            if (worker != null) {
                worker.close();
            }
            if (comm != null) {
                comm.close();
            } else {
                server.close();
            }
        }
    }

    /** Joins the master, retrying while it is not up yet, within the join timeout. */
    private static World join(GrpcSettings settings, Peer me) throws InterruptedException {
        long deadline = System.nanoTime() + settings.joinTimeout().toNanos();
        ManagedChannel channel = NettyChannelBuilder.forAddress(settings.masterAddr(), settings.masterPort())
                .usePlaintext().build();
        try {
            while (true) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IllegalStateException("rank " + me.getRank() + " could not join the master at "
                            + settings.master() + " within " + settings.joinTimeout().toSeconds() + " s (MASTER_ADDR, "
                            + "MASTER_PORT, ASYNCDIFF_JOIN_TIMEOUT)");
                }
                try {
                    return RankGrpc.newBlockingStub(channel).withDeadlineAfter(left, TimeUnit.NANOSECONDS)
                            .join(JoinRequest.newBuilder().setPeer(me).setWorldSize(settings.worldSize()).build());
                } catch (StatusRuntimeException e) {
                    Status.Code code = e.getStatus().getCode();
                    if (code != Status.Code.UNAVAILABLE && code != Status.Code.FAILED_PRECONDITION) {
                        throw new IllegalStateException("the master at " + settings.master() + " refused rank "
                                + me.getRank() + ": " + e.getStatus().getDescription(), e);
                    }
                    Thread.sleep(RETRY.toMillis());
                }
            }
        } finally {
            channel.shutdownNow();
        }
    }
}
