package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.AsyncDiffException;
import dev.asyncdiff.api.DenoiseRequest;
import dev.asyncdiff.api.DenoiserComponent;
import dev.asyncdiff.api.Guidance;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.StepContext;
import dev.asyncdiff.api.StepInputs;
import dev.asyncdiff.api.StepProgress;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.Communicator;
import dev.asyncdiff.spi.CommunicatorAbortedException;
import dev.asyncdiff.spi.CommunicatorProvider;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * The denoising loop of the original AsyncDiff over components placed on ranks (device workers),
 * with guidance as a stage and the adapter's per-step inputs.
 *
 * <p>With timesteps τ<sub>0</sub>…τ<sub>K−1</sub>, warm-up W and components C<sub>0</sub>…C<sub>N−1</sub>:
 * <ul>
 *   <li>k &lt; W, or N = 1: C<sub>0</sub> → … → C<sub>N−1</sub> in order, each on its rank.</li>
 *   <li>stride 1, k ≥ W: every component runs at once; C<sub>0</sub> takes x<sub>k</sub>, every other
 *       component the outputs of the earlier ones from step k−1, all take τ<sub>k</sub> (τ<sub>k−1</sub>
 *       with time shift); C<sub>N−1</sub> gives ε<sub>k</sub>.</li>
 *   <li>stride 2, k ≥ W: on odd k the components run at once with τ<sub>k+1</sub> (τ<sub>k</sub> with
 *       time shift; τ<sub>k</sub> on the last step) while a replica of C<sub>N−1</sub> on rank N takes
 *       the same inputs with τ<sub>k</sub> (τ<sub>k−1</sub>) and gives ε<sub>k</sub>; on even k,
 *       ε<sub>k</sub> is C<sub>N−1</sub>'s latest output and nothing runs.</li>
 * </ul>
 * With one component there is nothing to run in parallel, so every step is sequential whatever the
 * stride and time shift (the original's N = 1 with stride 2 or time shift steps from stale inputs).
 *
 * <p><b>Ranks and communication.</b> Every tensor that moves between ranks goes through the
 * {@link Communicator}: the step's model inputs from rank 0 (the loop's rank) to the components that
 * read them, the tensors that cross a cut from their producer to their consumers — sent as soon as
 * the producer finishes, while the other components still compute — the conditioning once per
 * generation ({@code broadcast}), and the prediction back to rank 0. Each rank keeps its components'
 * outputs of the last two rounds (double buffering: a round reads the previous round's outputs while
 * writing its own) in memory from its pool, so output buffers are reused from round to round.
 *
 * <p><b>Guidance.</b> With one guidance group the branches run stacked in one batch and the prediction
 * is split in halves; with two groups (CFG-parallel) each branch runs its own schedule on its own ranks
 * and one {@code allGather} brings both predictions to rank 0. Either way {@link Guidance#combine}
 * makes the prediction the sampler steps with, so both give the same bytes.
 */
final class DenoisingLoop implements AutoCloseable {
    private static final String SAMPLE = StepInputs.SAMPLE;

    private final List<Lane> lanes;
    private final List<DeviceWorker> ranks;
    private final Communicator comm;

    /** The schedule of one step. */
    enum Round {
        SEQUENTIAL, PARALLEL, PARALLEL_WITH_REPLICA, NONE
    }

    /** One guidance group: the components in order on their workers, and the stride-2 replica. */
    static final class Lane {
        final List<DenoiserComponent> components;
        final List<DeviceWorker> workers;
        final DenoiserComponent replica;
        final DeviceWorker replicaWorker;
        final ComponentRouting routing;
        final int[] slotRank;

        /**
         * @param components    the components in order
         * @param workers       the worker running each component (same order)
         * @param replica       a second instance of the last component for stride 2, or null
         * @param replicaWorker the worker running the replica, or null
         */
        Lane(List<? extends DenoiserComponent> components, List<DeviceWorker> workers, DenoiserComponent replica,
             DeviceWorker replicaWorker) {
            if (components.size() != workers.size()) {
                throw new IllegalArgumentException(components.size() + " components but " + workers.size() + " workers");
            }
            if ((replica == null) != (replicaWorker == null)) {
                throw new IllegalArgumentException("a replica needs a worker and a worker a replica");
            }
            this.components = List.copyOf(components);
            this.workers = List.copyOf(workers);
            this.replica = replica;
            this.replicaWorker = replicaWorker;
            this.routing = ComponentRouting.of(components);
            this.slotRank = new int[components.size() + 1];
        }

        int size() {
            return components.size();
        }

        /** Slot {@code size()} is the replica. */
        DenoiserComponent component(int slot) {
            return slot == size() ? replica : components.get(slot);
        }

        DeviceWorker worker(int slot) {
            return slot == size() ? replicaWorker : workers.get(slot);
        }

        /** The component whose wiring a slot has: its own, or the last one for the replica. */
        int wiring(int slot) {
            return Math.min(slot, size() - 1);
        }
    }

    /** One guidance group with the in-process communicator. */
    DenoisingLoop(List<? extends DenoiserComponent> components, List<DeviceWorker> workers,
                  DenoiserComponent replica, DeviceWorker replicaWorker) {
        this(List.of(new Lane(components, workers, replica, replicaWorker)), new InProcessCommunicatorProvider());
    }

    /**
     * Guidance groups (1, or 2 for CFG-parallel, on disjoint workers) connected by a communicator from
     * {@code communicators}; rank 0 is the first group's first worker.
     *
     * @throws IllegalArgumentException when the groups differ in component count or share a worker
     */
    DenoisingLoop(List<Lane> lanes, CommunicatorProvider communicators) {
        if (lanes.isEmpty() || lanes.size() > 2) {
            throw new IllegalArgumentException("the loop runs 1 or 2 guidance groups, got " + lanes.size());
        }
        Map<DeviceWorker, Integer> rankOf = new IdentityHashMap<>();
        List<DeviceWorker> ordered = new ArrayList<>();
        for (int g = 0; g < lanes.size(); g++) {
            Lane lane = lanes.get(g);
            if (lane.size() != lanes.get(0).size()) {
                throw new IllegalArgumentException("guidance groups need the same components, got "
                        + lanes.get(0).size() + " and " + lane.size());
            }
            int firstOfGroup = ordered.size();
            for (int slot = 0; slot <= lane.size(); slot++) {
                DeviceWorker worker = lane.worker(slot);
                if (worker == null) {
                    lane.slotRank[slot] = -1;
                    continue;
                }
                Integer rank = rankOf.get(worker);
                if (rank == null) {
                    rank = ordered.size();
                    rankOf.put(worker, rank);
                    ordered.add(worker);
                } else if (rank < firstOfGroup) {
                    throw new IllegalArgumentException("CFG-parallel needs disjoint device groups; " + worker.device()
                            + " is in both");
                }
                lane.slotRank[slot] = rank;
            }
        }
        this.lanes = List.copyOf(lanes);
        this.ranks = List.copyOf(ordered);
        this.comm = communicators.create(ordered.stream().map(DeviceWorker::device).toList());
    }

    /** The communicator's name, e.g. {@code inprocess}. */
    String communicator() {
        return comm.name();
    }

    /** The number of guidance groups the components are placed in. */
    int groups() {
        return lanes.size();
    }

    /** The inputs component 0 declares. */
    List<dev.asyncdiff.api.TensorSpec> firstComponentInputs() {
        return lanes.get(0).components.get(0).inputs();
    }

    /**
     * Runs the loop. With {@code sequentialOnly}, every step is a sequential step.
     *
     * @return the final latents; the caller closes them
     */
    Tensor run(DenoiseRequest request, AsyncConfig config, boolean sequentialOnly) {
        int n = lanes.get(0).size();
        if (!sequentialOnly && config.modelN() != n) {
            throw new IllegalArgumentException("config modelN=" + config.modelN() + " but " + n
                    + " components are loaded");
        }
        double[] timesteps = request.timesteps();
        int steps = timesteps.length;
        Round[] rounds = plan(steps, config, sequentialOnly || n == 1);
        if (Arrays.asList(rounds).contains(Round.PARALLEL_WITH_REPLICA) && lanes.get(0).replica == null) {
            throw new IllegalArgumentException("stride 2 needs a replica of the last component on device N");
        }
        Guidance guidance = request.guidance();
        boolean parallelGuidance = lanes.size() == 2 && guidance.branches() == 2;
        List<Lane> active = parallelGuidance ? lanes : List.of(lanes.get(0));
        Generation generation = new Generation(request, active, rounds, timesteps, config.timeShift() ? 1 : 0,
                parallelGuidance);
        long start = System.nanoTime();
        Tensor latents = request.latents();
        boolean ownsLatents = false;
        comm.reset();
        try {
            generation.broadcastConditioning();
            for (int k = 0; k < steps; k++) {
                request.cancellation().throwIfCancelled();
                List<AutoCloseable> stepOwned = new ArrayList<>();
                try {
                    Tensor guided = generation.step(k, latents, stepOwned);
                    Tensor next = request.scheduler().step(guided, timesteps[k], latents, request.rng());
                    if (ownsLatents) {
                        latents.close();
                    }
                    latents = next;
                    ownsLatents = true;
                } finally {
                    closeAll(stepOwned);
                }
                request.progress().onStep(new StepProgress(k + 1, steps, rounds[k] == Round.SEQUENTIAL
                        ? StepProgress.Phase.WARM_UP : StepProgress.Phase.PARALLEL,
                        Duration.ofNanos(System.nanoTime() - start), latents));
            }
            Tensor result = ownsLatents ? latents : latents.to(latents.dtype());
            ownsLatents = false;
            return result;
        } finally {
            if (ownsLatents) {
                latents.close();
            }
            generation.release();
            comm.reset();
        }
    }

    /** What each step runs. */
    static Round[] plan(int steps, AsyncConfig config, boolean sequentialOnly) {
        Round[] rounds = new Round[steps];
        for (int k = 0; k < steps; k++) {
            if (sequentialOnly || k < config.warmUp()) {
                rounds[k] = Round.SEQUENTIAL;
            } else if (config.stride() == 1) {
                rounds[k] = Round.PARALLEL;
            } else {
                rounds[k] = k % 2 == 1 ? Round.PARALLEL_WITH_REPLICA : Round.NONE;
            }
        }
        return rounds;
    }

    /** The state of one generation on the loop's side, and the work it sends to the ranks. */
    private final class Generation {
        private final DenoiseRequest request;
        private final List<Lane> active;
        private final Round[] rounds;
        private final double[] timesteps;
        private final int shift;
        private final boolean parallelGuidance;
        private final RankState[] states;
        private final List<Tensor> slices = new ArrayList<>();
        private final List<Map<String, Tensor>> laneConditioning = new ArrayList<>();

        Generation(DenoiseRequest request, List<Lane> active, Round[] rounds, double[] timesteps, int shift,
                   boolean parallelGuidance) {
            this.request = request;
            this.active = active;
            this.rounds = rounds;
            this.timesteps = timesteps;
            this.shift = shift;
            this.parallelGuidance = parallelGuidance;
            this.states = new RankState[ranks.size()];
            for (int r = 0; r < states.length; r++) {
                states[r] = new RankState();
            }
        }

        /** The conditioning to each rank that reads it, once: all of it, or each group's half for CFG-parallel. */
        void broadcastConditioning() {
            for (int g = 0; g < active.size(); g++) {
                Map<String, Tensor> conditioning = new LinkedHashMap<>();
                for (Map.Entry<String, Tensor> entry : request.conditioning().entrySet()) {
                    Tensor tensor = entry.getValue();
                    if (parallelGuidance) {
                        if (tensor.rank() == 0 || tensor.dim(0) % 2 != 0) {
                            throw new IllegalArgumentException("conditioning '" + entry.getKey() + "' of shape "
                                    + Arrays.toString(tensor.shape()) + " is not stacked [unconditional; conditional]"
                                    + " on its first axis, as CFG-parallel needs");
                        }
                        long half = tensor.dim(0) / 2;
                        tensor = tensor.batchSlice(g * half, half);
                        slices.add(tensor);
                    }
                    conditioning.put(entry.getKey(), tensor);
                }
                laneConditioning.add(conditioning);
                Lane lane = active.get(g);
                for (Map.Entry<String, Tensor> entry : conditioning.entrySet()) {
                    Set<Integer> readers = new LinkedHashSet<>();
                    for (int slot = 0; slot <= lane.size(); slot++) {
                        if (lane.slotRank[slot] >= 0
                                && lane.routing.inputNames(lane.wiring(slot)).contains(entry.getKey())) {
                            readers.add(lane.slotRank[slot]);
                        }
                    }
                    comm.broadcast(0, List.copyOf(readers), conditionTag(entry.getKey()), entry.getValue());
                }
            }
        }

        /** Runs step k's round on every group and returns the prediction to step with. */
        Tensor step(int k, Tensor latents, List<AutoCloseable> owned) {
            Tensor scaled = request.scheduler().scaleModelInput(latents, timesteps[k]);
            if (scaled != latents) {
                owned.add(scaled);
            }
            List<Map<String, Tensor>> inputs = new ArrayList<>();
            for (int g = 0; g < active.size(); g++) {
                inputs.add(stepInputs(k, g, scaled, owned));
            }
            Round round = rounds[k];
            if (round != Round.NONE) {
                List<CompletableFuture<Void>> futures = new ArrayList<>();
                List<String> labels = new ArrayList<>();
                for (int g = 0; g < active.size(); g++) {
                    submitRound(g, k, round, inputs.get(g), futures, labels);
                }
                await(futures, labels, k, timesteps.length);
            }
            Lane first = active.get(0);
            Tensor prediction = comm.recv(first.slotRank[predictionSlot(first, round)], 0, predictionTag(k, 0));
            owned.add(prediction);
            Guidance guidance = request.guidance();
            if (parallelGuidance) {
                return gathered(k, round, prediction, owned);
            }
            if (guidance.branches() == 1) {
                return prediction;
            }
            long half = prediction.dim(0) / 2;
            if (prediction.dim(0) % 2 != 0) {
                throw new IllegalArgumentException("a guided prediction needs an even batch [unconditional; "
                        + "conditional], got shape " + Arrays.toString(prediction.shape()));
            }
            try (Tensor u = prediction.batchSlice(0, half); Tensor c = prediction.batchSlice(half, half)) {
                Tensor guided = guidance.combine(List.of(u, c));
                owned.add(guided);
                return guided;
            }
        }

        /** CFG-parallel: the conditional group's rank and rank 0 all-gather the two predictions. */
        private Tensor gathered(int k, Round round, Tensor unconditional, List<AutoCloseable> owned) {
            Lane second = active.get(1);
            int holder = second.slotRank[predictionSlot(second, round)];
            List<Integer> group = List.of(0, holder);
            String tag = "k" + k + "/gather";
            RankState state = states[holder];
            CompletableFuture<Void> contribution = task(ranks.get(holder), () -> {
                try (Tensor held = state.take(predictionTag(k, 1))) {
                    closeAll(new ArrayList<>(comm.allGather(holder, group, tag, held)));
                }
            });
            List<Tensor> both = comm.allGather(0, group, tag, unconditional);
            owned.addAll(both);
            await(List.of(contribution), List.of("all-gather on " + ranks.get(holder).device()), k, timesteps.length);
            Tensor guided = request.guidance().combine(both);
            owned.add(guided);
            return guided;
        }

        /** Group g's model inputs at step k: the hook's, or the scaled latents (stacked per branch in one batch). */
        private Map<String, Tensor> stepInputs(int k, int group, Tensor scaled, List<AutoCloseable> owned) {
            Guidance guidance = request.guidance();
            int branches = guidance.branches();
            StepInputs hook = request.stepInputs();
            Map<String, Tensor> inputs = new LinkedHashMap<>();
            if (hook == null) {
                Tensor sample = scaled;
                if (branches == 2 && !parallelGuidance) {
                    sample = LatentOps.doubleBatch(scaled);
                    owned.add(sample);
                }
                inputs.put(SAMPLE, sample);
                return inputs;
            }
            List<NamedTensors> built = new ArrayList<>();
            int steps = timesteps.length;
            if (parallelGuidance || branches == 1) {
                int branch = parallelGuidance ? group : 0;
                built.add(hook.build(new StepContext(k, steps, timesteps[k], branch, branches, guidance.guessMode()),
                        scaled));
            } else {
                for (int branch = 0; branch < branches; branch++) {
                    NamedTensors one = hook.build(new StepContext(k, steps, timesteps[k], branch, branches,
                            guidance.guessMode()), scaled);
                    owned.add(one);
                    built.add(one);
                }
            }
            if (built.size() == 1) {
                NamedTensors only = built.get(0);
                owned.add(only);
                inputs.putAll(only.asMap());
            } else {
                if (!built.get(0).names().equals(built.get(1).names())) {
                    throw new IllegalArgumentException("the step inputs of the two guidance branches differ: "
                            + built.get(0).names() + " and " + built.get(1).names());
                }
                for (String name : built.get(0).names()) {
                    Tensor stacked = LatentOps.concatBatch(List.of(built.get(0).get(name), built.get(1).get(name)));
                    owned.add(stacked);
                    inputs.put(name, stacked);
                }
            }
            if (!inputs.containsKey(SAMPLE)) {
                throw new IllegalArgumentException("the step inputs hook returned " + inputs.keySet()
                        + " without '" + SAMPLE + "', the denoiser's latent input");
            }
            return inputs;
        }

        /** Sends group g's step inputs to the slots of step k's round and submits their runs. */
        private void submitRound(int group, int k, Round round, Map<String, Tensor> inputs,
                                 List<CompletableFuture<Void>> futures, List<String> labels) {
            Lane lane = active.get(group);
            int slots = round == Round.PARALLEL_WITH_REPLICA ? lane.size() + 1 : lane.size();
            for (int slot = 0; slot < slots; slot++) {
                int wiring = lane.wiring(slot);
                int rank = lane.slotRank[slot];
                Set<String> fromHook = new LinkedHashSet<>();
                for (String name : lane.routing.inputNames(wiring)) {
                    ComponentRouting.Source source = lane.routing.source(wiring, name);
                    if (source == ComponentRouting.Source.LATENT) {
                        comm.send(0, rank, inputTag(k, slot, name), inputs.get(SAMPLE));
                    } else if (source == ComponentRouting.Source.OTHER) {
                        if (inputs.containsKey(name)) {
                            comm.send(0, rank, inputTag(k, slot, name), inputs.get(name));
                            fromHook.add(name);
                        } else if (!laneConditioning.get(group).containsKey(name)) {
                            throw new IllegalArgumentException("component " + wiring + " needs input '" + name
                                    + "', which the request's conditioning does not have (it has "
                                    + new ArrayList<>(request.conditioning().keySet()) + ")"
                                    + (inputs.size() > 1 ? " nor its step inputs " + inputs.keySet() : ""));
                        }
                    }
                }
                double timestep = switch (round) {
                    case SEQUENTIAL -> timesteps[k];
                    case PARALLEL -> timesteps[k - shift];
                    default -> slot == lane.size() || k == timesteps.length - 1
                            ? timesteps[k - shift] : timesteps[k + 1 - shift];
                };
                SlotRun run = new SlotRun(group, slot, k, round, timestep, fromHook, deliveries(lane, group, slot, k,
                        round));
                futures.add(task(lane.worker(slot), run::execute));
                labels.add(slot == lane.size() ? "replica of component " + (lane.size() - 1) + " on "
                        + lane.replicaWorker.device() : "component " + slot + " on " + lane.worker(slot).device());
            }
        }

        /** Where a slot's outputs of step k go: consumers this step and in the next compute round, and rank 0. */
        private List<Delivery> deliveries(Lane lane, int group, int slot, int k, Round round) {
            List<Delivery> out = new ArrayList<>();
            int wiring = lane.wiring(slot);
            int steps = timesteps.length;
            int next = k + 1;
            while (next < steps && rounds[next] == Round.NONE) {
                next++;
            }
            boolean nextParallel = next < steps && rounds[next] != Round.SEQUENTIAL;
            for (String name : lane.routing.outputNames(wiring)) {
                if (slot < lane.size()) {
                    for (int consumer : lane.routing.consumers(slot, name)) {
                        if (round == Round.SEQUENTIAL) {
                            out.add(new Delivery(name, lane.slotRank[consumer], inputTag(k, consumer, name)));
                        }
                        if (nextParallel) {
                            out.add(new Delivery(name, lane.slotRank[consumer], inputTag(next, consumer, name)));
                            if (consumer == lane.size() - 1 && rounds[next] == Round.PARALLEL_WITH_REPLICA) {
                                out.add(new Delivery(name, lane.slotRank[lane.size()], inputTag(next, lane.size(), name)));
                            }
                        }
                    }
                }
                if (name.equals(lane.routing.prediction()) && wiring == lane.size() - 1) {
                    List<Integer> predicted = new ArrayList<>();
                    if (slot == lane.size() || round != Round.PARALLEL_WITH_REPLICA) {
                        predicted.add(k);
                    }
                    if (slot < lane.size() && k + 1 < steps && rounds[k + 1] == Round.NONE) {
                        predicted.add(k + 1);
                    }
                    for (int step : predicted) {
                        out.add(new Delivery(name, group == 0 ? 0 : -1, predictionTag(step, group)));
                    }
                }
            }
            return out;
        }

        /** One slot's run at one step, executed on its rank. */
        private final class SlotRun {
            private final int group;
            private final int slot;
            private final int step;
            private final Round round;
            private final double timestep;
            private final Set<String> fromHook;
            private final List<Delivery> deliveries;

            SlotRun(int group, int slot, int step, Round round, double timestep, Set<String> fromHook,
                    List<Delivery> deliveries) {
                this.group = group;
                this.slot = slot;
                this.step = step;
                this.round = round;
                this.timestep = timestep;
                this.fromHook = fromHook;
                this.deliveries = deliveries;
            }

            void execute() {
                Lane lane = active.get(group);
                int wiring = lane.wiring(slot);
                int rank = lane.slotRank[slot];
                RankState state = states[rank];
                List<Tensor> received = new ArrayList<>();
                try (Tensor t = Tensor.scalar((float) timestep)) {
                    Map<String, Tensor> feed = new LinkedHashMap<>();
                    for (String name : lane.routing.inputNames(wiring)) {
                        Tensor value = switch (lane.routing.source(wiring, name)) {
                            case TIMESTEP -> t;
                            case LATENT -> keep(received, comm.recv(0, rank, inputTag(step, slot, name)));
                            case CROSSING -> keep(received, comm.recv(lane.slotRank[lane.routing.producerOf(name)], rank,
                                    inputTag(step, slot, name)));
                            case OTHER -> fromHook.contains(name)
                                    ? keep(received, comm.recv(0, rank, inputTag(step, slot, name)))
                                    : state.conditioning(rank, name);
                        };
                        feed.put(name, value);
                    }
                    state.retire(group, slot);
                    NamedTensors outputs = lane.component(slot).run(feed, lane.worker(slot).pool());
                    state.rotate(group, slot, outputs);
                    for (Delivery delivery : deliveries) {
                        Tensor tensor = outputs.get(delivery.name());
                        if (delivery.to() < 0) {
                            state.hold(delivery.tag(), tensor.view());
                        } else {
                            comm.send(rank, delivery.to(), delivery.tag(), tensor);
                        }
                    }
                } finally {
                    closeAll(received);
                }
            }
        }

        /** Closes what every rank keeps for this generation, on the rank's own thread, and the group slices. */
        void release() {
            List<CompletableFuture<Void>> done = new ArrayList<>();
            for (int r = 0; r < ranks.size(); r++) {
                RankState state = states[r];
                done.add(ranks.get(r).submit(() -> {
                    state.close();
                    return null;
                }));
            }
            for (CompletableFuture<Void> future : done) {
                joinUninterruptibly(future);
            }
            closeAll(slices);
        }
    }

    /** Where one output goes: a rank (−1: kept on the producing rank for the all-gather) under a tag. */
    private record Delivery(String name, int to, String tag) {
    }

    /** What a rank keeps during a generation; touched only on the rank's own thread. */
    private final class RankState implements AutoCloseable {
        private final Map<String, Tensor> conditioning = new HashMap<>();
        private final Map<Long, NamedTensors[]> outputs = new HashMap<>();
        private final Map<String, Tensor> held = new HashMap<>();

        /** The conditioning input {@code name}, received from rank 0 the first time it is needed. */
        Tensor conditioning(int rank, String name) {
            Tensor tensor = conditioning.get(name);
            if (tensor == null) {
                tensor = comm.recv(0, rank, conditionTag(name));
                conditioning.put(name, tensor);
            }
            return tensor;
        }

        /**
         * Before a slot runs: closes its outputs of two rounds ago, whose readers have all finished, so
         * the run reuses their memory and a slot never holds more than two rounds of outputs.
         */
        void retire(int group, int slot) {
            NamedTensors[] pair = outputs.computeIfAbsent(((long) group << 32) | slot, key -> new NamedTensors[2]);
            if (pair[0] != null) {
                pair[0].close();
                pair[0] = null;
            }
        }

        /** After a slot ran: its newest outputs, the previous ones kept for this round's readers. */
        void rotate(int group, int slot, NamedTensors newest) {
            NamedTensors[] pair = outputs.computeIfAbsent(((long) group << 32) | slot, key -> new NamedTensors[2]);
            pair[0] = pair[1];
            pair[1] = newest;
        }

        void hold(String tag, Tensor view) {
            Tensor old = held.put(tag, view);
            if (old != null) {
                old.close();
            }
        }

        Tensor take(String tag) {
            Tensor tensor = held.remove(tag);
            if (tensor == null) {
                throw new IllegalStateException("no prediction kept under '" + tag + "'");
            }
            return tensor;
        }

        @Override
        public void close() {
            closeAll(new ArrayList<>(held.values()));
            held.clear();
            for (NamedTensors[] pair : outputs.values()) {
                for (NamedTensors set : pair) {
                    if (set != null) {
                        set.close();
                    }
                }
            }
            outputs.clear();
            closeAll(new ArrayList<>(conditioning.values()));
            conditioning.clear();
        }
    }

    /** A task on {@code worker} that aborts the generation's communication when it fails. */
    private CompletableFuture<Void> task(DeviceWorker worker, Runnable body) {
        return worker.submit(() -> {
            try {
                body.run();
                return null;
            } catch (RuntimeException | Error e) {
                comm.abort(e);
                throw e;
            }
        });
    }

    private static int predictionSlot(Lane lane, Round round) {
        return round == Round.PARALLEL_WITH_REPLICA ? lane.size() : lane.size() - 1;
    }

    private static String inputTag(int step, int slot, String name) {
        return "k" + step + "/s" + slot + "/" + name;
    }

    private static String predictionTag(int step, int group) {
        return "k" + step + "/eps/g" + group;
    }

    private static String conditionTag(String name) {
        return "cond/" + name;
    }

    private static Tensor keep(List<Tensor> received, Tensor tensor) {
        received.add(tensor);
        return tensor;
    }

    /**
     * Waits for every future. When one fails, the others still finish (a native run cannot be
     * interrupted), and the first failure that is not a consequence of another (an aborted receive)
     * is rethrown with the component named; an interrupt becomes a {@link CancellationException} once
     * the running work has finished.
     */
    private static void await(List<CompletableFuture<Void>> futures, List<String> labels, int step, int steps) {
        boolean interrupted = false;
        Throwable failure = null;
        String failed = null;
        for (int i = 0; i < futures.size(); i++) {
            while (true) {
                try {
                    futures.get(i).get();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause();
                    boolean secondary = cause instanceof CommunicatorAbortedException;
                    if (failure == null || (failure instanceof CommunicatorAbortedException && !secondary)) {
                        failure = cause;
                        failed = labels.get(i);
                    }
                    break;
                }
            }
        }
        // A future may complete while an interrupt is being delivered: get() then returns normally
        // with the interrupt flag set again.
        interrupted |= Thread.currentThread().isInterrupted();
        if (failure == null && !interrupted) {
            return;
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
            CancellationException cancelled = new CancellationException("denoising interrupted at step "
                    + (step + 1) + " of " + steps);
            if (failure != null) {
                cancelled.addSuppressed(failure);
            }
            throw cancelled;
        }
        if (failure instanceof CancellationException cancellation) {
            throw cancellation;
        }
        throw new AsyncDiffException(failed + " failed at step " + (step + 1) + " of " + steps + ": "
                + failure.getMessage(), failure);
    }

    private static void joinUninterruptibly(CompletableFuture<?> future) {
        boolean interrupted = false;
        while (true) {
            try {
                future.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException e) {
                break;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
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

    /** Closes the communicator; the workers belong to the strategy. Idempotent. */
    @Override
    public void close() {
        comm.close();
    }
}
