package dev.asyncdiff.communicator.grpc;

import com.google.protobuf.ByteString;
import dev.asyncdiff.api.AsyncDiffException;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.communicator.grpc.proto.Empty;
import dev.asyncdiff.communicator.grpc.proto.FileChunk;
import dev.asyncdiff.communicator.grpc.proto.FilesQuery;
import dev.asyncdiff.communicator.grpc.proto.Load;
import dev.asyncdiff.communicator.grpc.proto.Peer;
import dev.asyncdiff.communicator.grpc.proto.RankGrpc;
import dev.asyncdiff.communicator.grpc.proto.TaskReply;
import dev.asyncdiff.communicator.grpc.proto.TaskRequest;
import dev.asyncdiff.communicator.grpc.proto.TensorMessage;
import dev.asyncdiff.communicator.grpc.proto.World;
import dev.asyncdiff.spi.Communicator;
import dev.asyncdiff.spi.RankTask;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code grpc} communicator of one process: this process is rank {@link #rank()} of a world whose ranks
 * found each other through the rendezvous. Tensors to another rank go on one long-lived client stream per
 * peer, as raw bytes with dtype and shape, and land in that rank's mailbox; a tensor to this process's own
 * rank is handed over as a view. On rank 0 it also carries the tasks of every other rank on one stream each,
 * with a per-task timeout, and ships components a worker does not have yet.
 *
 * <p>Every rank stamps what it sends with the generation rank 0 started last ({@link #reset()}), so that
 * what an aborted generation left in flight is never received by the next. Thread-safe.
 */
public final class GrpcCommunicator implements Communicator {
    private static final Logger LOG = LoggerFactory.getLogger(GrpcCommunicator.class);
    private static final int FILE_CHUNK = 1 << 20;

    private final int me;
    private final List<Peer> peers;
    private final List<Device> devices;
    private final RankServer server;
    private final Duration stepTimeout;
    private final Duration loadTimeout;
    private final Map<Integer, ManagedChannel> channels = new HashMap<>();
    private final Map<Integer, StreamObserver<TensorMessage>> streams = new HashMap<>();
    private final Map<Integer, TaskStream> tasks = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer;
    private final ExecutorService shipping;
    private volatile long generation;
    private volatile boolean closed;
    private volatile DeviceLink link;

    /**
     * The communicator of rank {@code me} in {@code world}, whose server is {@code server}.
     *
     * @param stepTimeout how long rank 0 waits for a remote task (but a load)
     * @param loadTimeout how long rank 0 waits for a remote load, files shipped included
     */
    GrpcCommunicator(int me, World world, RankServer server, Duration stepTimeout, Duration loadTimeout) {
        this.me = me;
        this.peers = List.copyOf(world.getPeersList());
        this.devices = peers.stream().map(p -> Device.parse(p.getDevice())).toList();
        this.server = server;
        this.stepTimeout = stepTimeout;
        this.loadTimeout = loadTimeout;
        this.timer = Executors.newSingleThreadScheduledExecutor(daemon("asyncdiff-grpc-timer"));
        this.shipping = Executors.newCachedThreadPool(daemon("asyncdiff-grpc-ship"));
        this.generation = server.mailbox().generation();
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }

    @Override
    public String name() {
        return linkName().isEmpty() ? GrpcCommunicatorProvider.NAME : linkName();
    }

    /** The name of the device link every rank of this world was started with; empty for none. */
    String linkName() {
        return peers.get(0).getDeviceLink();
    }

    /** This process's rank. */
    public int rank() {
        return me;
    }

    @Override
    public int size() {
        return peers.size();
    }

    @Override
    public Device device(int rank) {
        checkRank(rank);
        return devices.get(rank);
    }

    /** Rank {@code rank} as it is named in messages: {@code rank 2 (host:port)}. */
    String describe(int rank) {
        Peer peer = peers.get(rank);
        return "rank " + rank + " (" + peer.getHost() + ":" + peer.getPort() + ")";
    }

    @Override
    public boolean isLocal(int rank) {
        checkRank(rank);
        return rank == me;
    }

    @Override
    public void send(int from, int to, String tag, Tensor tensor) {
        checkRank(to);
        if (from != me) {
            throw new IllegalArgumentException("this process is rank " + me + "; it cannot send as rank " + from);
        }
        if (to == me) {
            server.mailbox().put(generation, from, tag, tensor.view());
            return;
        }
        DeviceLink viaLink = link;
        if (viaLink != null && viaLink.carries(tensor, devices.get(to))) {
            server.countTransferred(tensor.byteCount());
            StreamObserver<TensorMessage> stream = stream(to);
            synchronized (stream) {
                stream.onNext(WireFormat.linkHeader(generation, from, tag, tensor));
                viaLink.send(to, tensor);
            }
            return;
        }
        TensorMessage message = WireFormat.tensor(generation, from, tag, tensor);
        server.countTransferred(message.getData().size());
        StreamObserver<TensorMessage> stream = stream(to);
        synchronized (stream) {
            stream.onNext(message);
        }
    }

    @Override
    public Tensor recv(int from, int to, String tag) {
        checkRank(from);
        if (to != me) {
            throw new IllegalArgumentException("this process is rank " + me + "; it cannot receive for rank " + to);
        }
        return server.mailbox().take(from, tag);
    }

    @Override
    public List<Tensor> allGather(int rank, List<Integer> group, String tag, Tensor tensor) {
        if (!group.contains(rank)) {
            throw new IllegalArgumentException("rank " + rank + " is not in the all-gather group " + group);
        }
        for (int other : group) {
            if (other != rank) {
                send(rank, other, tag + "/from" + rank, tensor);
            }
        }
        List<Tensor> parts = new ArrayList<>();
        for (int other : group) {
            parts.add(other == rank ? tensor.view() : recv(other, rank, tag + "/from" + other));
        }
        return parts;
    }

    @Override
    public CompletableFuture<RankTask.Done> submit(int rank, RankTask task) {
        checkRank(rank);
        if (rank == me) {
            throw new IllegalArgumentException("rank " + rank + " runs in this process");
        }
        if (me != 0) {
            throw new IllegalStateException("only rank 0 submits tasks; this process is rank " + me);
        }
        TaskStream stream = tasks.computeIfAbsent(rank, TaskStream::new);
        if (task instanceof RankTask.Load load) {
            return CompletableFuture.supplyAsync(() -> ship(rank, load.file()), shipping)
                    .thenCompose(files -> stream.submit(request().setLoad(Load.newBuilder()
                            .setComponent(load.component()).setFiles(files)
                            .setFileName(load.file().getFileName().toString())
                            .setModelHash(load.modelHash() == null ? "" : load.modelHash())), "loading "
                            + load.component(), loadTimeout));
        }
        TaskRequest.Builder request = request();
        String what;
        if (task instanceof RankTask.Run run) {
            request.setRun(WireFormat.run(run));
            what = "running " + run.component() + " at step " + (run.step() + 1);
        } else if (task instanceof RankTask.Gather gather) {
            request.setGather(WireFormat.gather(gather));
            what = "the all-gather " + gather.tag();
        } else if (task instanceof RankTask.EndGeneration) {
            request.setEndGeneration(Empty.getDefaultInstance());
            what = "ending the generation";
        } else if (task instanceof RankTask.Unload unload) {
            request.setUnload(unload.component());
            what = "unloading " + unload.component();
        } else {
            throw new IllegalArgumentException("unknown rank task " + task);
        }
        return stream.submit(request, what, stepTimeout);
    }

    private TaskRequest.Builder request() {
        return TaskRequest.newBuilder().setGeneration(generation);
    }

    /** Sends the component files of {@code model} to {@code rank} unless it has them; their digest. */
    private String ship(int rank, Path model) {
        List<Path> files = ComponentFiles.of(model);
        String sha = ComponentFiles.digest(files);
        RankGrpc.RankBlockingStub blocking = RankGrpc.newBlockingStub(channel(rank))
                .withDeadlineAfter(loadTimeout.toMillis(), TimeUnit.MILLISECONDS);
        if (blocking.hasFiles(FilesQuery.newBuilder().setSha256(sha).build()).getPresent()) {
            return sha;
        }
        CountDownLatch done = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        StreamObserver<FileChunk> upload = RankGrpc.newStub(channel(rank)).putFiles(new StreamObserver<>() {
            @Override
            public void onNext(Empty value) {
            }

            @Override
            public void onError(Throwable t) {
                failure.set(t);
                done.countDown();
            }

            @Override
            public void onCompleted() {
                done.countDown();
            }
        });
        byte[] buffer = new byte[FILE_CHUNK];
        try {
            for (Path file : files) {
                try (InputStream in = Files.newInputStream(file)) {
                    for (int n; (n = in.readNBytes(buffer, 0, buffer.length)) > 0; ) {
                        upload.onNext(FileChunk.newBuilder().setSha256(sha).setName(file.getFileName().toString())
                                .setData(ByteString.copyFrom(buffer, 0, n)).build());
                    }
                }
            }
            upload.onCompleted();
            if (!done.await(loadTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AsyncDiffException(describe(rank) + " did not store " + model + " within "
                        + loadTimeout.toSeconds() + " s");
            }
        } catch (IOException e) {
            upload.onError(e);
            throw new UncheckedIOException("cannot read " + model + " to send it to " + describe(rank) + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.util.concurrent.CancellationException("interrupted while sending " + model);
        }
        if (failure.get() != null) {
            throw new AsyncDiffException("sending " + model + " to " + describe(rank) + " failed: "
                    + failure.get().getMessage(), failure.get());
        }
        return sha;
    }

    @Override
    public long bytesTransferred() {
        return server.bytesTransferred();
    }

    /** Fails this generation's receives here and, from rank 0, on every other rank. */
    @Override
    public void abort(Throwable cause) {
        server.mailbox().abort(cause);
        if (me == 0) {
            String message = cause.getMessage() == null ? cause.toString() : cause.getMessage();
            tasks.values().forEach(stream -> stream.control(request().setAbort(message)));
        }
    }

    /** From rank 0: starts a new generation here and on every other rank. */
    @Override
    public void reset() {
        if (me != 0) {
            throw new IllegalStateException("only rank 0 starts generations; this process is rank " + me);
        }
        long next = generation + 1;
        startGeneration(next);
        for (int rank = 1; rank < size(); rank++) {
            tasks.computeIfAbsent(rank, TaskStream::new).control(TaskRequest.newBuilder().setGeneration(next)
                    .setReset(Empty.getDefaultInstance()));
        }
    }

    /**
     * Sends device-resident tensors the link carries over {@code value} from now on (their headers still go
     * over gRPC), and receives them from it; closed with this communicator.
     */
    void attach(DeviceLink value) {
        this.link = value;
        server.attach(value);
    }

    /**
     * A rank is gone or hung, so the world is unusable: closes its device link, whose sends and receives could
     * otherwise wait for that rank forever (an NCCL send waits for its receive).
     */
    private void closeLink(Throwable cause) {
        DeviceLink current = link;
        if (current != null) {
            LOG.warn("closing the {} link: {}", linkName(), cause.getMessage());
            current.close();
        }
    }

    /** On a worker: the generation rank 0 started. */
    void startGeneration(long next) {
        generation = next;
        server.mailbox().startGeneration(next);
    }

    private synchronized ManagedChannel channel(int rank) {
        if (closed) {
            throw new IllegalStateException("the grpc communicator of rank " + me + " is closed");
        }
        return channels.computeIfAbsent(rank, r -> NettyChannelBuilder.forAddress(peers.get(r).getHost(),
                peers.get(r).getPort()).usePlaintext().maxInboundMessageSize(RankServer.MAX_MESSAGE_BYTES)
                .flowControlWindow(RankServer.FLOW_CONTROL_WINDOW).directExecutor().build());
    }

    private synchronized StreamObserver<TensorMessage> stream(int rank) {
        StreamObserver<TensorMessage> stream = streams.get(rank);
        if (stream == null) {
            stream = RankGrpc.newStub(channel(rank)).tensors(new StreamObserver<>() {
                @Override
                public void onNext(Empty value) {
                }

                @Override
                public void onError(Throwable t) {
                    forget(rank);
                }

                @Override
                public void onCompleted() {
                }
            });
            streams.put(rank, stream);
        }
        return stream;
    }

    private synchronized void forget(int rank) {
        streams.remove(rank);
    }

    /** Closes the connections and the server; waiting receives fail. Idempotent. */
    @Override
    public void close() {
        List<ManagedChannel> open;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            streams.values().forEach(stream -> {
                synchronized (stream) {
                    stream.onCompleted();
                }
            });
            streams.clear();
            open = new ArrayList<>(channels.values());
            channels.clear();
        }
        tasks.values().forEach(TaskStream::close);
        open.forEach(ManagedChannel::shutdownNow);
        if (link != null) {
            link.close();
        }
        timer.shutdownNow();
        shipping.shutdownNow();
        server.close();
    }

    private void checkRank(int rank) {
        if (rank < 0 || rank >= peers.size()) {
            throw new IllegalArgumentException("rank must be in [0, " + peers.size() + "), was " + rank);
        }
    }

    /** Rank 0's task stream to one worker: replies matched to requests by id, each with its timeout. */
    private final class TaskStream {
        private final int rank;
        private final AtomicLong ids = new AtomicLong();
        private final Map<Long, CompletableFuture<RankTask.Done>> pending = new ConcurrentHashMap<>();
        private final StreamObserver<TaskRequest> requests;
        private volatile Throwable broken;

        TaskStream(int rank) {
            this.rank = rank;
            this.requests = RankGrpc.newStub(channel(rank)).tasks(new StreamObserver<>() {
                @Override
                public void onNext(TaskReply reply) {
                    CompletableFuture<RankTask.Done> future = pending.remove(reply.getId());
                    if (future == null) {
                        return; // it timed out before
                    }
                    if (reply.getError().isEmpty()) {
                        future.complete(WireFormat.done(reply));
                    } else {
                        future.completeExceptionally(new AsyncDiffException(describe(rank) + ": " + reply.getError()));
                    }
                }

                @Override
                public void onError(Throwable t) {
                    fail(new AsyncDiffException(describe(rank) + " disconnected: " + t.getMessage(), t));
                }

                @Override
                public void onCompleted() {
                    fail(new AsyncDiffException(describe(rank) + " closed its task stream"));
                }
            });
        }

        CompletableFuture<RankTask.Done> submit(TaskRequest.Builder request, String what, Duration timeout) {
            CompletableFuture<RankTask.Done> future = new CompletableFuture<>();
            if (broken != null) {
                future.completeExceptionally(new AsyncDiffException(describe(rank) + " is unusable: "
                        + broken.getMessage(), broken));
                return future;
            }
            long id = ids.incrementAndGet();
            pending.put(id, future);
            timer.schedule(() -> {
                if (pending.remove(id) != null) {
                    AsyncDiffException late = new AsyncDiffException(describe(rank) + " did not finish " + what
                            + " within " + timeout.toSeconds() + " s (ASYNCDIFF_STEP_TIMEOUT); it is hung or overloaded");
                    broken = late;
                    closeLink(late);
                    future.completeExceptionally(late);
                }
            }, timeout.toMillis(), TimeUnit.MILLISECONDS);
            control(request.setId(id));
            return future;
        }

        /** Sends a request; one that cannot be sent fails what is pending. */
        void control(TaskRequest.Builder request) {
            try {
                synchronized (this) {
                    requests.onNext(request.build());
                }
            } catch (RuntimeException e) {
                fail(new AsyncDiffException("cannot reach " + describe(rank) + ": " + e.getMessage(), e));
            }
        }

        private void fail(Throwable cause) {
            broken = cause;
            closeLink(cause);
            for (Long id : new ArrayList<>(pending.keySet())) {
                CompletableFuture<RankTask.Done> future = pending.remove(id);
                if (future != null) {
                    future.completeExceptionally(cause);
                }
            }
            server.mailbox().abort(cause);
        }

        void close() {
            synchronized (this) {
                try {
                    requests.onCompleted();
                } catch (RuntimeException e) {
                    // already broken
                }
            }
        }
    }
}
