package dev.asyncdiff.communicator.grpc;

import com.google.protobuf.ByteString;
import dev.asyncdiff.communicator.grpc.proto.JoinRequest;
import dev.asyncdiff.communicator.grpc.proto.Peer;
import dev.asyncdiff.communicator.grpc.proto.World;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Rank 0's rendezvous: collects every other rank's address and answers all of them once the world is whole. */
final class Rendezvous {
    private final int worldSize;
    private final Peer[] peers;
    private final List<StreamObserver<World>> waiting = new ArrayList<>();
    private final CompletableFuture<World> complete = new CompletableFuture<>();
    private final String master;
    private final byte[] linkId;

    /** @param linkId the id of the world's device link, empty for none; every rank must have that link */
    Rendezvous(Peer master, int worldSize, byte[] linkId) {
        this.worldSize = worldSize;
        this.linkId = linkId.clone();
        this.peers = new Peer[worldSize];
        this.peers[0] = master;
        this.master = master.getHost() + ":" + master.getPort();
    }

    synchronized void join(JoinRequest request, StreamObserver<World> reply) {
        Peer peer = request.getPeer();
        String refusal = null;
        if (request.getWorldSize() != worldSize) {
            refusal = "rank " + peer.getRank() + " was started with WORLD_SIZE=" + request.getWorldSize()
                    + ", the master has " + worldSize;
        } else if (peer.getRank() < 1 || peer.getRank() >= worldSize) {
            refusal = "rank " + peer.getRank() + " is outside [1, " + worldSize + ")";
        } else if (peers[peer.getRank()] != null) {
            refusal = "rank " + peer.getRank() + " already joined from " + peers[peer.getRank()].getHost() + ":"
                    + peers[peer.getRank()].getPort();
        } else if (complete.isDone()) {
            refusal = "the world of " + worldSize + " ranks is already complete";
        } else if (!peer.getDeviceLink().equals(peers[0].getDeviceLink())) {
            refusal = "rank " + peer.getRank() + " was started " + linkName(peer) + ", rank 0 runs "
                    + linkName(peers[0]) + "; start every rank with the same --communicator";
        }
        if (refusal != null) {
            reply.onError(Status.INVALID_ARGUMENT.withDescription(refusal).asRuntimeException());
            return;
        }
        peers[peer.getRank()] = peer;
        waiting.add(reply);
        if (missing().isEmpty()) {
            World world = World.newBuilder().addAllPeers(List.of(peers)).setSession(UUID.randomUUID().toString())
                    .setDeviceLinkId(ByteString.copyFrom(linkId)).build();
            for (StreamObserver<World> observer : waiting) {
                observer.onNext(world);
                observer.onCompleted();
            }
            waiting.clear();
            complete.complete(world);
        }
    }

    private static String linkName(Peer peer) {
        return peer.getDeviceLink().isEmpty() ? "with grpc alone" : "with the " + peer.getDeviceLink() + " device link";
    }

    private List<Integer> missing() {
        List<Integer> missing = new ArrayList<>();
        for (int r = 0; r < worldSize; r++) {
            if (peers[r] == null) {
                missing.add(r);
            }
        }
        return missing;
    }

    /**
     * Waits for every rank.
     *
     * @throws IllegalStateException naming the ranks that did not join in time
     */
    World await(Duration timeout) {
        try {
            return complete.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            List<Integer> missing;
            synchronized (this) {
                missing = missing();
                for (StreamObserver<World> observer : waiting) {
                    observer.onError(Status.DEADLINE_EXCEEDED.withDescription("ranks " + missing
                            + " did not join").asRuntimeException());
                }
                waiting.clear();
                complete.cancel(false);
            }
            throw new IllegalStateException("rank(s) " + new TreeSet<>(missing) + " did not join the master at " + master
                    + " within " + timeout.toSeconds() + " s (WORLD_SIZE=" + worldSize + "); start them with "
                    + "`asyncdiff worker` and MASTER_ADDR/MASTER_PORT pointing here");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.util.concurrent.CancellationException("interrupted while waiting for ranks to join");
        } catch (ExecutionException e) {
            throw new IllegalStateException("the rendezvous failed: " + e.getCause(), e.getCause());
        }
    }
}
