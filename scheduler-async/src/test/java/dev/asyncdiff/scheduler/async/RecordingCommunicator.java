package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.Communicator;
import dev.asyncdiff.spi.CommunicatorProvider;
import dev.asyncdiff.spi.RankTask;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The in-process communicator, recording in order each send ({@code send 0->1 tag}), each receive call
 * ({@code recv 1->0 tag}) and each run submitted to a rank it plays as remote ({@code submit 1 key step}); the
 * "remote" ranks run their tasks on a worker thread of their own, as a worker process would.
 */
final class RecordingCommunicator implements Communicator {
    private final Communicator delegate;
    private final List<String> events;
    private final Map<Integer, DeviceWorker> remote = new HashMap<>();
    private final Map<Integer, RankRuntime> runtimes = new HashMap<>();

    private RecordingCommunicator(List<Device> devices, List<String> events, Set<Integer> remoteRanks, Backend backend) {
        this.delegate = new InProcessCommunicator(devices);
        this.events = events;
        for (int rank : remoteRanks) {
            DeviceWorker worker = new DeviceWorker(devices.get(rank));
            remote.put(rank, worker);
            runtimes.put(rank, worker.own(new RankRuntime(rank, devices.get(rank), backend, this, worker.pool())));
        }
    }

    /** A provider of such communicators, all recording into {@code events}. */
    static CommunicatorProvider provider(List<String> events, Set<Integer> remoteRanks, Backend backend) {
        List<String> synchronizedEvents = Collections.synchronizedList(events);
        return new CommunicatorProvider() {
            @Override
            public String name() {
                return "recording";
            }

            @Override
            public Communicator create(List<Device> devices) {
                return new RecordingCommunicator(devices, synchronizedEvents, remoteRanks, backend);
            }
        };
    }

    /** The recorded events that start with {@code prefix}. */
    static List<String> starting(String prefix, List<String> events) {
        synchronized (events) {
            return new ArrayList<>(events.stream().filter(e -> e.startsWith(prefix)).toList());
        }
    }

    @Override
    public String name() {
        return "recording";
    }

    @Override
    public int size() {
        return delegate.size();
    }

    @Override
    public Device device(int rank) {
        return delegate.device(rank);
    }

    @Override
    public boolean isLocal(int rank) {
        return !remote.containsKey(rank);
    }

    @Override
    public CompletableFuture<RankTask.Done> submit(int rank, RankTask task) {
        if (task instanceof RankTask.Run run) {
            events.add("submit " + rank + " " + run.component() + " " + run.step());
        }
        RankRuntime runtime = runtimes.get(rank);
        return remote.get(rank).submit(() -> runtime.execute(task));
    }

    @Override
    public void send(int from, int to, String tag, Tensor tensor) {
        events.add("send " + from + "->" + to + " " + tag);
        delegate.send(from, to, tag, tensor);
    }

    @Override
    public Tensor recv(int from, int to, String tag) {
        events.add("recv " + from + "->" + to + " " + tag);
        return delegate.recv(from, to, tag);
    }

    @Override
    public List<Tensor> allGather(int rank, List<Integer> group, String tag, Tensor tensor) {
        return delegate.allGather(rank, group, tag, tensor);
    }

    @Override
    public void abort(Throwable cause) {
        delegate.abort(cause);
    }

    @Override
    public void reset() {
        delegate.reset();
    }

    @Override
    public void close() {
        remote.values().forEach(DeviceWorker::close);
        delegate.close();
    }
}
