package dev.asyncdiff.communicator.grpc;

import dev.asyncdiff.communicator.grpc.proto.Empty;
import dev.asyncdiff.communicator.grpc.proto.FileChunk;
import dev.asyncdiff.communicator.grpc.proto.FilesQuery;
import dev.asyncdiff.communicator.grpc.proto.JoinRequest;
import dev.asyncdiff.communicator.grpc.proto.RankGrpc;
import dev.asyncdiff.communicator.grpc.proto.TaskReply;
import dev.asyncdiff.communicator.grpc.proto.TaskRequest;
import dev.asyncdiff.communicator.grpc.proto.TensorMessage;
import dev.asyncdiff.communicator.grpc.proto.World;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
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

    private final Server server;
    private final Mailbox mailbox = new Mailbox();
    private volatile Rendezvous rendezvous;
    private volatile Function<StreamObserver<TaskReply>, StreamObserver<TaskRequest>> tasks;
    private volatile ComponentFiles.Store store;

    private RankServer(InetSocketAddress address) {
        this.server = NettyServerBuilder.forAddress(address).maxInboundMessageSize(MAX_MESSAGE_BYTES)
                .addService(new Service()).build();
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

    int port() {
        return server.getPort();
    }

    Mailbox mailbox() {
        return mailbox;
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
        try {
            server.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        mailbox.close();
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
        public StreamObserver<TensorMessage> tensors(StreamObserver<Empty> reply) {
            return new StreamObserver<>() {
                @Override
                public void onNext(TensorMessage message) {
                    try {
                        mailbox.put(message.getGeneration(), message.getFrom(), message.getTag(),
                                WireFormat.tensor(message));
                    } catch (RuntimeException e) {
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
