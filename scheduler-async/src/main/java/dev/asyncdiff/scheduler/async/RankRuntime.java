package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.DenoiserComponent;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.HostBufferPool;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.Communicator;
import dev.asyncdiff.spi.RankTask;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One rank's side of the loop: the components placed on it and what it keeps during a generation,
 * doing the {@link RankTask}s rank 0 sends — in this JVM on the rank's worker thread, or in a worker
 * process. Tensors come and go only through the communicator. Not thread-safe: one thread runs a rank's
 * tasks, in order.
 */
public final class RankRuntime implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RankRuntime.class);
    private final int rank;
    private final Device device;
    private final Backend backend;
    private final Communicator comm;
    private final HostBufferPool pool;
    private final Map<String, DenoiserComponent> components = new LinkedHashMap<>();
    private final Map<String, Tensor> conditioning = new HashMap<>();
    private final Map<String, NamedTensors[]> outputs = new HashMap<>();
    private final Map<String, Tensor> held = new HashMap<>();

    /**
     * @param backend loads the components of {@link RankTask.Load} tasks; null when components are only
     *                {@linkplain #adopt adopted}
     * @param pool    the host memory the components write their outputs into
     */
    public RankRuntime(int rank, Device device, Backend backend, Communicator comm, HostBufferPool pool) {
        this.rank = rank;
        this.device = device;
        this.backend = backend;
        this.comm = comm;
        this.pool = pool;
    }

    public int rank() {
        return rank;
    }

    public Device device() {
        return device;
    }

    /** Takes {@code component}, already loaded, as {@code name}; it is closed with this runtime. */
    void adopt(String name, DenoiserComponent component) {
        if (components.putIfAbsent(name, component) != null) {
            throw new IllegalArgumentException("rank " + rank + " already has a component '" + name + "'");
        }
    }

    /** The component loaded as {@code name}. */
    DenoiserComponent component(String name) {
        DenoiserComponent component = components.get(name);
        if (component == null) {
            throw new IllegalStateException("rank " + rank + " on " + device + " has no component '" + name
                    + "'; it has " + components.keySet());
        }
        return component;
    }

    /** Does {@code task}. */
    public RankTask.Done execute(RankTask task) {
        if (task instanceof RankTask.Load load) {
            DenoiserComponent loaded = load(load);
            return new RankTask.Done(loaded.inputs(), loaded.outputs());
        }
        if (task instanceof RankTask.Run run) {
            run(run);
        } else if (task instanceof RankTask.Gather gather) {
            gather(gather);
        } else if (task instanceof RankTask.EndGeneration) {
            endGeneration();
        } else if (task instanceof RankTask.Unload unload) {
            unload(unload.component());
        } else {
            throw new IllegalArgumentException("unknown rank task " + task);
        }
        return RankTask.Done.NOTHING;
    }

    private DenoiserComponent load(RankTask.Load load) {
        if (backend == null) {
            throw new IllegalStateException("rank " + rank + " has no backend to load " + load.file());
        }
        if (components.containsKey(load.component())) {
            throw new IllegalArgumentException("rank " + rank + " already has a component '" + load.component() + "'");
        }
        DenoiserComponent component = new LoadedComponent(components.size(), backend.load(load.file(), device));
        components.put(load.component(), component);
        return component;
    }

    private void unload(String name) {
        NamedTensors[] pair = outputs.remove(name);
        closePair(pair);
        DenoiserComponent component = components.remove(name);
        if (component != null) {
            component.close();
        }
    }

    private void run(RankTask.Run run) {
        DenoiserComponent component = component(run.component());
        List<Tensor> received = new ArrayList<>();
        try (Tensor timestep = Tensor.scalar((float) run.timestep())) {
            Map<String, Tensor> feed = new LinkedHashMap<>();
            for (RankTask.Feed input : run.feeds()) {
                Tensor value = switch (input.source()) {
                    case TIMESTEP -> timestep;
                    case RECEIVE -> keep(received, comm.recv(input.from(), rank, input.tag()));
                    case CONDITIONING -> conditioning(input.from(), input.tag());
                };
                feed.put(input.name(), value);
            }
            retire(run.component());
            long start = System.nanoTime();
            NamedTensors produced = component.run(feed, pool);
            LOG.debug("rank {}: {} at step {} ran in {} µs", rank, run.component(), run.step() + 1,
                    (System.nanoTime() - start) / 1000);
            rotate(run.component(), produced);
            for (RankTask.Delivery delivery : run.deliveries()) {
                Tensor tensor = produced.get(delivery.name());
                if (delivery.held()) {
                    hold(delivery.tag(), tensor.view());
                } else {
                    comm.send(rank, delivery.to(), delivery.tag(), tensor);
                }
            }
        } finally {
            closeAll(received);
        }
    }

    private void gather(RankTask.Gather gather) {
        Tensor prediction = held.remove(gather.held());
        if (prediction == null) {
            throw new IllegalStateException("rank " + rank + " holds no prediction under '" + gather.held() + "'");
        }
        try (prediction) {
            closeAll(comm.allGather(rank, gather.group(), gather.tag(), prediction));
        }
    }

    /** Conditioning {@code tag} from {@code root}, received the first time a run needs it. */
    private Tensor conditioning(int root, String tag) {
        Tensor tensor = conditioning.get(tag);
        if (tensor == null) {
            tensor = comm.recv(root, rank, tag);
            conditioning.put(tag, tensor);
        }
        return tensor;
    }

    /**
     * Before a component runs: closes its outputs of two rounds ago, whose readers have all finished, so
     * the run reuses their memory and a component never holds more than two rounds of outputs.
     */
    private void retire(String component) {
        NamedTensors[] pair = outputs.computeIfAbsent(component, key -> new NamedTensors[2]);
        if (pair[0] != null) {
            pair[0].close();
            pair[0] = null;
        }
    }

    /** After a component ran: its newest outputs, the previous ones kept for this round's readers. */
    private void rotate(String component, NamedTensors newest) {
        NamedTensors[] pair = outputs.get(component);
        pair[0] = pair[1];
        pair[1] = newest;
    }

    private void hold(String tag, Tensor view) {
        Tensor old = held.put(tag, view);
        if (old != null) {
            old.close();
        }
    }

    /** Closes what the generation kept: held predictions, every component's outputs, the conditioning. */
    private void endGeneration() {
        closeAll(new ArrayList<>(held.values()));
        held.clear();
        outputs.values().forEach(RankRuntime::closePair);
        outputs.clear();
        closeAll(new ArrayList<>(conditioning.values()));
        conditioning.clear();
    }

    /** Ends the generation and closes every component. */
    @Override
    public void close() {
        endGeneration();
        for (String name : new ArrayList<>(components.keySet())) {
            unload(name);
        }
    }

    private static void closePair(NamedTensors[] pair) {
        if (pair != null) {
            for (NamedTensors set : pair) {
                if (set != null) {
                    set.close();
                }
            }
        }
    }

    private static Tensor keep(List<Tensor> received, Tensor tensor) {
        received.add(tensor);
        return tensor;
    }

    private static void closeAll(List<? extends AutoCloseable> resources) {
        for (AutoCloseable resource : resources) {
            try {
                resource.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + resource + " failed: " + e.getMessage(), e);
            }
        }
    }
}
