package dev.asyncdiff.communicator.grpc;

import dev.asyncdiff.api.AsyncDiffException;
import dev.asyncdiff.communicator.grpc.proto.Load;
import dev.asyncdiff.communicator.grpc.proto.TaskReply;
import dev.asyncdiff.communicator.grpc.proto.TaskRequest;
import dev.asyncdiff.scheduler.async.DeviceWorker;
import dev.asyncdiff.scheduler.async.RankRuntime;
import dev.asyncdiff.spi.RankTask;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's side of rank 0's task stream: resets and aborts take effect at once, every other task runs on
 * the rank's worker thread in order and is answered with its result or its error. When rank 0 goes away the
 * generation is aborted and the components are closed.
 */
final class WorkerSession implements StreamObserver<TaskRequest> {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerSession.class);

    private final GrpcCommunicator comm;
    private final RankServer server;
    private final DeviceWorker worker;
    private final RankRuntime runtime;
    private final ComponentFiles.Store store;
    private final String modelHash;
    private final String model;
    private final StreamObserver<TaskReply> replies;
    private final CompletableFuture<String> ended;

    WorkerSession(GrpcCommunicator comm, RankServer server, DeviceWorker worker, RankRuntime runtime,
                  ComponentFiles.Store store, String modelHash, String model, StreamObserver<TaskReply> replies,
                  CompletableFuture<String> ended) {
        this.comm = comm;
        this.server = server;
        this.worker = worker;
        this.runtime = runtime;
        this.store = store;
        this.modelHash = modelHash;
        this.model = model;
        this.replies = replies;
        this.ended = ended;
    }

    @Override
    public void onNext(TaskRequest request) {
        switch (request.getTaskCase()) {
            case RESET -> comm.startGeneration(request.getGeneration());
            case ABORT -> server.mailbox().abort(new AsyncDiffException("rank 0 aborted the generation: "
                    + request.getAbort()));
            default -> worker.submit(() -> execute(request)).whenComplete((done, failure) -> reply(request, done,
                    failure));
        }
    }

    private RankTask.Done execute(TaskRequest request) {
        RankTask task = switch (request.getTaskCase()) {
            case LOAD -> load(request.getLoad());
            case RUN -> WireFormat.run(request.getRun());
            case GATHER -> WireFormat.gather(request.getGather());
            case END_GENERATION -> new RankTask.EndGeneration();
            case UNLOAD -> new RankTask.Unload(request.getUnload());
            default -> throw new IllegalArgumentException("unknown task " + request.getTaskCase());
        };
        return runtime.execute(task);
    }

    private RankTask.Load load(Load load) {
        if (modelHash != null && !load.getModelHash().isEmpty() && !load.getModelHash().equals(modelHash)) {
            throw new IllegalArgumentException("this rank was started for the model " + model + " (SHA-256 "
                    + modelHash.substring(0, 16) + "…), but rank 0 runs a denoiser with SHA-256 "
                    + load.getModelHash().substring(0, Math.min(16, load.getModelHash().length()))
                    + "…; start every rank with the same --model");
        }
        return new RankTask.Load(load.getComponent(), store.file(load.getFiles(), load.getFileName()),
                load.getModelHash().isEmpty() ? null : load.getModelHash());
    }

    private void reply(TaskRequest request, RankTask.Done done, Throwable failure) {
        TaskReply.Builder reply = failure == null ? WireFormat.done(done) : TaskReply.newBuilder()
                .setError(failure.getMessage() == null ? failure.toString() : failure.getMessage());
        if (failure != null) {
            LOG.warn("rank {}: {} failed: {}", comm.rank(), request.getTaskCase(), reply.getError());
        }
        synchronized (replies) {
            try {
                replies.onNext(reply.setId(request.getId()).build());
            } catch (RuntimeException e) {
                LOG.debug("rank 0 is gone; the reply to task {} is dropped", request.getId());
            }
        }
    }

    @Override
    public void onError(Throwable t) {
        end("rank 0 disconnected: " + t.getMessage());
    }

    @Override
    public void onCompleted() {
        end("rank 0 closed the session");
        synchronized (replies) {
            try {
                replies.onCompleted();
            } catch (RuntimeException e) {
                // already gone
            }
        }
    }

    /** Aborts what waits, closes the components on the worker thread, then reports the end. */
    private void end(String why) {
        server.mailbox().abort(new AsyncDiffException(why));
        try {
            worker.submit(() -> {
                runtime.close();
                return null;
            }).whenComplete((v, failure) -> ended.complete(why));
        } catch (IllegalStateException closed) {
            ended.complete(why);
        }
    }
}
