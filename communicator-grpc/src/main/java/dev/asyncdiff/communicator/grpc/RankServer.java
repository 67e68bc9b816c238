package dev.asyncdiff.communicator.grpc;

import dev.asyncdiff.communicator.grpc.proto.Empty;
import dev.asyncdiff.communicator.grpc.proto.FileChunk;
import dev.asyncdiff.communicator.grpc.proto.FilesQuery;
import dev.asyncdiff.communicator.grpc.proto.JoinRequest;
import dev.asyncdiff.communicator.grpc.proto.RankGrpc;
import dev.asyncdiff.communicator.grpc.proto.TaskReply;
import dev.asyncdiff.communicator.grpc.proto.TaskRequest;
import dev.asyncdiff.communicator.grpc.proto.World;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.HostBufferPool;
import dev.asyncdiff.api.Tensor;
import io.grpc.BindableService;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC server of one rank: tensors other ranks send to it go to its {@link Mailbox}; on rank 0 it also
 * holds the rendezvous, on a worker it takes rank 0's tasks and component files.
 */
final class RankServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RankServer.class);
    /** Crossing tensors of a full-size UNet at 1024 px reach tens of MiB. */
    static final int MAX_MESSAGE_BYTES = 1 << 30;
    /**
     * The HTTP/2 flow-control window: large enough that a step's crossing tensors go out without waiting
     * for window updates (the 1 MiB default costs a round trip per MiB).
     */
    static final int FLOW_CONTROL_WINDOW = 64 << 20;

    private final Server server;
    private final Mailbox mailbox = new Mailbox();
    /** Received tensors are written here; the receiver's close hands the memory back for the next step's. */
    private final HostBufferPool received = new HostBufferPool(Device.CPU);
    private volatile Rendezvous rendezvous;
    private volatile DeviceLink link;
    /** One thread per sender takes that sender's device-link tensors, in the order of their headers. */
    private final Map<Integer, ExecutorService> linkReceivers = new ConcurrentHashMap<>();
    private volatile Function<StreamObserver<TaskReply>, StreamObserver<TaskRequest>> tasks;
    private volatile ComponentFiles.Store store;
    private final java.util.concurrent.atomic.AtomicLong transferred = new java.util.concurrent.atomic.AtomicLong();

    private RankServer(InetSocketAddress address) {
        // Handlers only queue work or hand a tensor to the mailbox, so they run on the transport's threads.
        this.server = NettyServerBuilder.forAddress(address).maxInboundMessageSize(MAX_MESSAGE_BYTES)
                .flowControlWindow(FLOW_CONTROL_WINDOW).directExecutor().addService(withRawTensors(new Service()))
                .build();
    }

    /**
     * Listens on {@code port} (0: any free port) of every interface.
     *
     * @throws IllegalStateException naming the port when it cannot be bound
     */
    static RankServer start(int port) {
        RankServer rankServer = new RankServer(new InetSocketAddress(port));
        try {
            rankServer.server.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot listen on port " + port + " (" + e.getMessage()
                    + "); is another rank or master already using it?", e);
        }
        return rankServer;
    }

    /** Tensor bytes received here and, as counted by {@link #countTransferred}, sent from here. */
    long bytesTransferred() {
        return transferred.get();
    }

    void countTransferred(long bytes) {
        transferred.addAndGet(bytes);
    }

    int port() {
        return server.getPort();
    }

    Mailbox mailbox() {
        return mailbox;
    }

    /** Receives the bytes of device-link headers over {@code value} from now on. */
    void attach(DeviceLink value) {
        this.link = value;
    }

    void serveRendezvous(Rendezvous value) {
        this.rendezvous = value;
    }

    void serveTasks(Function<StreamObserver<TaskReply>, StreamObserver<TaskRequest>> handler,
                    ComponentFiles.Store files) {
        this.store = files;
        this.tasks = handler;
    }

    @Override
    public void close() {
        server.shutdownNow();
        linkReceivers.values().forEach(ExecutorService::shutdownNow);
        try {
            server.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        mailbox.close();
        received.close();
    }

    /** Passes a serialized message through as its stream: {@link WireFormat#read} parses tensors itself. */
    private static final MethodDescriptor.Marshaller<InputStream> RAW = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(InputStream value) {
            return value;
        }

        @Override
        public InputStream parse(InputStream stream) {
            return stream;
        }
    };

    /** The service with {@code Tensors} taking raw messages, so that a tensor is read straight into pooled memory. */
    private ServerServiceDefinition withRawTensors(BindableService service) {
        ServerServiceDefinition generated = service.bindService();
        MethodDescriptor<InputStream, Empty> tensors = RankGrpc.getTensorsMethod().toBuilder(RAW,
                ProtoUtils.marshaller(Empty.getDefaultInstance())).build();
        ServerServiceDefinition.Builder builder = ServerServiceDefinition.builder(RankGrpc.SERVICE_NAME);
        for (ServerMethodDefinition<?, ?> method : generated.getMethods()) {
            if (!method.getMethodDescriptor().getFullMethodName().equals(tensors.getFullMethodName())) {
                builder.addMethod(method);
            }
        }
        builder.addMethod(tensors, ServerCalls.asyncClientStreamingCall(this::receiveTensors));
        return builder.build();
    }

    private StreamObserver<InputStream> receiveTensors(StreamObserver<Empty> reply) {
        return new StreamObserver<>() {
            @Override
            public void onNext(InputStream message) {
                try (message) {
                    WireFormat.Received tensor = WireFormat.read(message, received);
                    if (tensor.onDeviceLink()) {
                        receiveOverLink(tensor);
                    } else {
                        transferred.addAndGet(tensor.tensor().byteCount());
                        mailbox.put(tensor.generation(), tensor.from(), tensor.tag(), tensor.tensor());
                    }
                } catch (IOException | RuntimeException e) {
                    LOG.error("{}", e.getMessage());
                    mailbox.abort(e);
                }
            }

            @Override
            public void onError(Throwable t) {
                // the sender went away; its rank's task stream reports that to rank 0
            }

            @Override
            public void onCompleted() {
                reply.onNext(Empty.getDefaultInstance());
                reply.onCompleted();
            }
        };
    }

    /** Takes the bytes of a device-link header off the link, on the sender's thread, into the mailbox. */
    private void receiveOverLink(WireFormat.Received header) {
        DeviceLink current = link;
        if (current == null) {
            throw new IllegalArgumentException("rank " + header.from() + " sent '" + header.tag() + "' over a device "
                    + "link, but this rank has none; start every rank with the same --communicator");
        }
        linkReceivers.computeIfAbsent(header.from(), from -> Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, "asyncdiff-link-from-" + from);
            thread.setDaemon(true);
            return thread;
        })).execute(() -> {
            try {
                Tensor tensor = current.receive(header.from(), header.dtype(), header.shape());
                transferred.addAndGet(tensor.byteCount());
                mailbox.put(header.generation(), header.from(), header.tag(), tensor);
            } catch (RuntimeException e) {
                LOG.error("receiving '{}' from rank {} over the device link failed: {}", header.tag(), header.from(),
                        e.getMessage());
                mailbox.abort(e);
            }
        });
    }

    private final class Service extends RankGrpc.RankImplBase {
        @Override
        public void join(JoinRequest request, StreamObserver<World> reply) {
            Rendezvous current = rendezvous;
            if (current == null) {
                reply.onError(Status.FAILED_PRECONDITION.withDescription("this process is not a master")
                        .asRuntimeException());
                return;
            }
            current.join(request, reply);
        }

        @Override
        public StreamObserver<TaskRequest> tasks(StreamObserver<TaskReply> reply) {
            Function<StreamObserver<TaskReply>, StreamObserver<TaskRequest>> handler = tasks;
            if (handler == null) {
                reply.onError(Status.FAILED_PRECONDITION.withDescription("this rank takes no tasks")
                        .asRuntimeException());
                return new StreamObserver<>() {
                    @Override
                    public void onNext(TaskRequest value) {
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                    }
                };
            }
            return handler.apply(reply);
        }

        @Override
        public void hasFiles(FilesQuery request, StreamObserver<FilesQuery> reply) {
            try {
                reply.onNext(request.toBuilder().setPresent(store != null && store.has(request.getSha256())).build());
                reply.onCompleted();
            } catch (IllegalArgumentException e) {
                reply.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            }
        }

        @Override
        public StreamObserver<FileChunk> putFiles(StreamObserver<Empty> reply) {
            return new StreamObserver<>() {
                private ComponentFiles.Store.Incoming incoming;
                private boolean failed;

                @Override
                public void onNext(FileChunk chunk) {
                    if (failed) {
                        return;
                    }
                    try {
                        if (incoming == null) {
                            incoming = store.receive(chunk.getSha256());
                        }
                        incoming.write(chunk.getName(), chunk.getData().toByteArray());
                    } catch (IOException | RuntimeException e) {
                        failed = true;
                        if (incoming != null) {
                            incoming.discard();
                        }
                        reply.onError(Status.INTERNAL.withDescription("storing component files failed: " + e)
                                .asRuntimeException());
                    }
                }

                @Override
                public void onError(Throwable t) {
                    if (incoming != null) {
                        incoming.discard();
                    }
                }

                @Override
                public void onCompleted() {
                    if (failed) {
                        return;
                    }
                    try {
                        if (incoming != null) {
                            incoming.commit();
                        }
                        reply.onNext(Empty.getDefaultInstance());
                        reply.onCompleted();
                    } catch (IOException | RuntimeException e) {
                        reply.onError(Status.INTERNAL.withDescription("storing component files failed: " + e)
                                .asRuntimeException());
                    }
                }
            };
        }
    }
}
