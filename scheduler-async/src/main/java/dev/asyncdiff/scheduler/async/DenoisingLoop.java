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
import dev.asyncdiff.spi.RankTask;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
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
 * <p><b>Running ahead.</b> A rank in another process gets its runs of the next compute round as soon as
 * this round's are handed out, not after rank 0 has stepped the sampler: a component that reads only
 * tensors crossing a cut (and the latent's shape, sent once per generation) starts its next round as soon
 * as those arrive, so the round trip to rank 0 is off its critical path. Its tensors come over the wire as
 * copies, so its outputs of two rounds ago are unread by then; ranks in this JVM, which read views of each
 * other's outputs, get each round's runs when it starts.
 *
 * <p><b>Guidance.</b> With one guidance group the branches run stacked in one batch and the prediction
 * is split in halves; with two groups (CFG-parallel) each branch runs its own schedule on its own ranks
 * and one {@code allGather} brings both predictions to rank 0. Either way {@link Guidance#combine}
 * makes the prediction the sampler steps with, so both give the same bytes.
 */
final class DenoisingLoop implements AutoCloseable {
    private static final String SAMPLE = StepInputs.SAMPLE;

    private final List<Lane> lanes;
    private final List<Rank> ranks;
    private final Communicator comm;

    /** The schedule of one step. */
    enum Round {
        SEQUENTIAL, PARALLEL, PARALLEL_WITH_REPLICA, NONE
    }

    /** A component as placed: what it reads and writes, its rank, and the name it is loaded under there. */
    record Slot(ComponentIo io, int rank, String key) {
    }

    /** One guidance group: the components in order on their ranks, and the stride-2 replica. */
    static final class Lane {
        final List<Slot> slots;
        final Slot replica;
        final ComponentRouting routing;

        /**
         * @param slots   the components in order
         * @param replica a second instance of the last component for stride 2, or null
         */
        Lane(List<Slot> slots, Slot replica) {
            this.slots = List.copyOf(slots);
            this.replica = replica;
            this.routing = ComponentRouting.of(this.slots.stream().map(Slot::io).toList());
        }

        int size() {
            return slots.size();
        }

        /** Slot {@code size()} is the replica. */
        Slot slot(int slot) {
            return slot == size() ? replica : slots.get(slot);
        }

        /** The rank of a slot; -1 for a missing replica. */
        int rank(int slot) {
            Slot placed = slot(slot);
            return placed == null ? -1 : placed.rank();
        }

        /** The component whose wiring a slot has: its own, or the last one for the replica. */
        int wiring(int slot) {
            return Math.min(slot, size() - 1);
        }
    }

    /**
     * Guidance groups (1, or 2 for CFG-parallel, on disjoint ranks) over {@code ranks}, which exchange
     * tensors through {@code comm}; rank 0 is the first group's first component's. The loop closes
     * {@code comm}; the ranks belong to the caller.
     *
     * @throws IllegalArgumentException when the groups differ in component count or share a rank
     */
    DenoisingLoop(List<Lane> lanes, List<Rank> ranks, Communicator comm) {
        if (lanes.isEmpty() || lanes.size() > 2) {
            throw new IllegalArgumentException("the loop runs 1 or 2 guidance groups, got " + lanes.size());
        }
        if (lanes.get(0).rank(0) != 0) {
            throw new IllegalArgumentException("the first component must be on rank 0, was on rank "
                    + lanes.get(0).rank(0));
        }
        for (Lane lane : lanes) {
            if (lane.size() != lanes.get(0).size()) {
                throw new IllegalArgumentException("guidance groups need the same components, got "
                        + lanes.get(0).size() + " and " + lane.size());
            }
        }
        if (lanes.size() == 2) {
            Set<Integer> first = new HashSet<>();
            for (int slot = 0; slot <= lanes.get(0).size(); slot++) {
                first.add(lanes.get(0).rank(slot));
            }
            for (int slot = 0; slot <= lanes.get(1).size(); slot++) {
                int rank = lanes.get(1).rank(slot);
                if (rank >= 0 && first.contains(rank)) {
                    throw new IllegalArgumentException("CFG-parallel needs disjoint device groups; rank " + rank
                            + " on " + ranks.get(rank).device() + " is in both");
                }
            }
        }
        this.lanes = List.copyOf(lanes);
        this.ranks = List.copyOf(ranks);
        this.comm = comm;
    }

    /**
     * One guidance group of components already loaded, on in-process workers (for tests); the workers
     * belong to the caller.
     */
    static DenoisingLoop inProcess(List<? extends DenoiserComponent> components, List<DeviceWorker> workers,
                                   DenoiserComponent replica, DeviceWorker replicaWorker) {
        if (components.size() != workers.size()) {
            throw new IllegalArgumentException(components.size() + " components but " + workers.size() + " workers");
        }
        List<DeviceWorker> rankWorkers = new ArrayList<>();
        List<Slot> slots = new ArrayList<>();
        Map<DeviceWorker, Integer> rankOf = new IdentityHashMap<>();
        for (int i = 0; i <= components.size(); i++) {
            DeviceWorker worker = i < components.size() ? workers.get(i) : replicaWorker;
            DenoiserComponent component = i < components.size() ? components.get(i) : replica;
            if (worker == null) {
                continue;
            }
            int rank = rankOf.computeIfAbsent(worker, w -> {
                rankWorkers.add(w);
                return rankWorkers.size() - 1;
            });
            slots.add(new Slot(ComponentIo.of(component), rank, i < components.size() ? "c" + i : "replica"));
        }
        Communicator comm = new InProcessCommunicator(rankWorkers.stream().map(DeviceWorker::device).toList());
        List<Rank> ranks = new ArrayList<>();
        for (int r = 0; r < rankWorkers.size(); r++) {
            DeviceWorker worker = rankWorkers.get(r);
            ranks.add(new Rank.Local(worker, new RankRuntime(r, worker.device(), null, comm, worker.pool())));
        }
        for (int i = 0; i < slots.size(); i++) {
            Slot slot = slots.get(i);
            ((Rank.Local) ranks.get(slot.rank())).runtime().adopt(slot.key(),
                    i < components.size() ? components.get(i) : replica);
        }
        Lane lane = new Lane(slots.subList(0, components.size()), replica == null ? null : slots.get(components.size()));
        return new DenoisingLoop(List.of(lane), ranks, comm);
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
        Slot first = lanes.get(0).slots.get(0);
        return ranks.get(0) instanceof Rank.Local local ? local.runtime().component(first.key()).inputs()
                : first.io().inputs();
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
        private final List<Tensor> slices = new ArrayList<>();
        private final List<Map<String, Tensor>> laneConditioning = new ArrayList<>();
        /** The runs of the next compute round already handed to ranks in other processes, by step. */
        private final Map<Integer, Submitted> ahead = new HashMap<>();
        /** CFG-parallel: the all-gathers submitted with their round, by step. */
        private final Map<Integer, Contribution> gathers = new HashMap<>();
        /** The latent shapes sent, as "rank tag", each once per generation. */
        private final Set<String> shapesSent = new HashSet<>();
        /** Every run and all-gather handed to a rank in this generation. */
        private final List<CompletableFuture<Void>> handedOut = new ArrayList<>();

        Generation(DenoiseRequest request, List<Lane> active, Round[] rounds, double[] timesteps, int shift,
                   boolean parallelGuidance) {
            this.request = request;
            this.active = active;
            this.rounds = rounds;
            this.timesteps = timesteps;
            this.shift = shift;
            this.parallelGuidance = parallelGuidance;
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
                        if (lane.rank(slot) >= 0
                                && lane.routing.inputNames(lane.wiring(slot)).contains(entry.getKey())) {
                            readers.add(lane.rank(slot));
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
                List<Set<String>> inputNames = inputs.stream().map(Map::keySet).toList();
                Submitted early = ahead.remove(k);
                Submitted submitted = early != null ? early : submitRuns(k, inputNames, true);
                submitted.add(submitRuns(k, inputNames, false));
                sendInputs(k, submitted, inputs);
                int next = nextComputeStep(k);
                if (parallelGuidance) {
                    // before any run of the next round, which may wait for what the gathers give
                    for (int step = k; step < next; step++) {
                        gathers.put(step, submitGather(step, rounds[step]));
                    }
                }
                if (next < timesteps.length) {
                    ahead.put(next, submitRuns(next, inputNames, true));
                }
                await(submitted.futures(), submitted.labels(), k, timesteps.length);
            }
            Lane first = active.get(0);
            Tensor prediction = comm.recv(first.rank(predictionSlot(first, round)), 0, predictionTag(k, 0));
            owned.add(prediction);
            if (!prediction.isHostResident()) {
                // The sampler steps on the host: a prediction a GPU backend left on rank 0's own device
                // comes back once per step, the only host copy of the step.
                prediction = prediction.toHost();
                owned.add(prediction);
            }
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

        /**
         * CFG-parallel: has the rank holding the conditional group's prediction of step k (from round k, or
         * from round k − 1 on a step where nothing runs) all-gather it with rank 0.
         */
        private Contribution submitGather(int k, Round round) {
            Lane second = active.get(1);
            int holder = second.rank(predictionSlot(second, round));
            List<Integer> group = List.of(0, holder);
            String tag = "k" + k + "/gather";
            CompletableFuture<Void> done = submit(holder, new RankTask.Gather(group, tag, predictionTag(k, 1)));
            handedOut.add(done);
            return new Contribution(holder, group, tag, done);
        }

        /** CFG-parallel: rank 0's side of the all-gather of step k's two predictions. */
        private Tensor gathered(int k, Round round, Tensor unconditional, List<AutoCloseable> owned) {
            Contribution contribution = gathers.remove(k);
            if (contribution == null) {
                contribution = submitGather(k, round);
            }
            List<Tensor> both = comm.allGather(0, contribution.group(), contribution.tag(), unconditional);
            owned.addAll(both);
            await(List.of(contribution.done()), List.of("all-gather on " + ranks.get(contribution.holder()).device()),
                    k, timesteps.length);
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

        /** The next step after k that runs components. */
        private int nextComputeStep(int k) {
            int next = k + 1;
            while (next < timesteps.length && rounds[next] == Round.NONE) {
                next++;
            }
            return next;
        }

        /**
         * Hands step k's runs to the ranks in other processes ({@code remoteOnly}) or to the others, the feeds
         * decided by the names of each group's step inputs; what rank 0 has to send them comes with the result.
         */
        private Submitted submitRuns(int k, List<Set<String>> stepInputNames, boolean remoteOnly) {
            Round round = rounds[k];
            Submitted submitted = Submitted.none();
            for (int g = 0; g < active.size(); g++) {
                Lane lane = active.get(g);
                int slots = round == Round.PARALLEL_WITH_REPLICA ? lane.size() + 1 : lane.size();
                for (int slot = 0; slot < slots; slot++) {
                    int rank = lane.rank(slot);
                    if ((ranks.get(rank).worker() == null) == remoteOnly) {
                        submitted.add(submitRun(g, k, round, slot, stepInputNames.get(g)));
                    }
                }
            }
            return submitted;
        }

        private Submitted submitRun(int group, int k, Round round, int slot, Set<String> stepInputNames) {
            Lane lane = active.get(group);
            int wiring = lane.wiring(slot);
            int rank = lane.rank(slot);
            List<RankTask.Feed> feeds = new ArrayList<>();
            List<StepSend> sends = new ArrayList<>();
            for (String name : lane.routing.inputNames(wiring)) {
                String tag = inputTag(k, slot, name);
                switch (lane.routing.source(wiring, name)) {
                    case TIMESTEP -> feeds.add(new RankTask.Feed(name, RankTask.Source.TIMESTEP, -1, null));
                    case LATENT -> {
                        sends.add(new StepSend(group, rank, tag, SAMPLE, false));
                        feeds.add(new RankTask.Feed(name, RankTask.Source.RECEIVE, 0, tag));
                    }
                    case LATENT_SHAPE -> {
                        sends.add(new StepSend(group, rank, shapeTag(name), SAMPLE, true));
                        feeds.add(new RankTask.Feed(name, RankTask.Source.CONDITIONING, 0, shapeTag(name)));
                    }
                    case CROSSING -> feeds.add(new RankTask.Feed(name, RankTask.Source.RECEIVE,
                            lane.rank(lane.routing.producerOf(name)), tag));
                    case OTHER -> {
                        if (stepInputNames.contains(name)) {
                            sends.add(new StepSend(group, rank, tag, name, false));
                            feeds.add(new RankTask.Feed(name, RankTask.Source.RECEIVE, 0, tag));
                        } else if (laneConditioning.get(group).containsKey(name)) {
                            feeds.add(new RankTask.Feed(name, RankTask.Source.CONDITIONING, 0, conditionTag(name)));
                        } else {
                            throw new IllegalArgumentException("component " + wiring + " needs input '" + name
                                    + "', which the request's conditioning does not have (it has "
                                    + new ArrayList<>(request.conditioning().keySet()) + ")"
                                    + (stepInputNames.size() > 1 ? " nor its step inputs " + stepInputNames : ""));
                        }
                    }
                }
            }
            double timestep = switch (round) {
                case SEQUENTIAL -> timesteps[k];
                case PARALLEL -> timesteps[k - shift];
                default -> slot == lane.size() || k == timesteps.length - 1
                        ? timesteps[k - shift] : timesteps[k + 1 - shift];
            };
            CompletableFuture<Void> done = submit(rank, new RankTask.Run(lane.slot(slot).key(), k, timestep, feeds,
                    deliveries(lane, group, slot, k, round)));
            handedOut.add(done);
            String label = (slot == lane.size() ? "replica of component " + (lane.size() - 1) : "component " + slot)
                    + " on " + ranks.get(rank);
            return new Submitted(List.of(done), List.of(label), sends);
        }

        /**
         * Sends step k's inputs to the runs that read them; a latent read only for its shape goes to each rank
         * once per generation, as a tensor of zeros of its shape.
         */
        private void sendInputs(int k, Submitted submitted, List<Map<String, Tensor>> inputs) {
            for (StepSend send : submitted.sends()) {
                Tensor tensor = inputs.get(send.group()).get(send.name());
                if (tensor == null) {
                    throw new IllegalStateException("the step inputs hook returned " + inputs.get(send.group())
                            .keySet() + " at step " + (k + 1) + ", without '" + send.name() + "' it returned before;"
                            + " it must return the same inputs at every step");
                }
                if (!send.shapeOnly()) {
                    comm.send(0, send.rank(), send.tag(), tensor);
                } else if (shapesSent.add(send.rank() + " " + send.tag())) {
                    Tensor shape = Tensor.zeros(tensor.dtype(), tensor.shape());
                    slices.add(shape);
                    comm.send(0, send.rank(), send.tag(), shape);
                }
            }
        }

        /** Where a slot's outputs of step k go: consumers this step and in the next compute round, and rank 0. */
        private List<RankTask.Delivery> deliveries(Lane lane, int group, int slot, int k, Round round) {
            List<RankTask.Delivery> out = new ArrayList<>();
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
                            out.add(new RankTask.Delivery(name, lane.rank(consumer), inputTag(k, consumer, name)));
                        }
                        if (nextParallel) {
                            out.add(new RankTask.Delivery(name, lane.rank(consumer), inputTag(next, consumer, name)));
                            if (consumer == lane.size() - 1 && rounds[next] == Round.PARALLEL_WITH_REPLICA) {
                                out.add(new RankTask.Delivery(name, lane.rank(lane.size()), inputTag(next, lane.size(), name)));
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
                        out.add(new RankTask.Delivery(name, group == 0 ? 0 : -1, predictionTag(step, group)));
                    }
                }
            }
            return out;
        }

        /** Has every rank close what it kept for this generation, and closes the group slices. */
        void release() {
            if (handedOut.stream().anyMatch(future -> !future.isDone())) {
                // The generation ended (failed, cancelled) with work handed out that may wait for inputs that
                // will not come — runs handed out ahead, or runs whose inputs were not sent: fail its receives.
                comm.abort(new CancellationException("the generation ended before the step this was handed out for"));
                handedOut.forEach(DenoisingLoop::joinUninterruptibly);
            }
            handedOut.clear();
            ahead.clear();
            gathers.clear();
            List<CompletableFuture<RankTask.Done>> done = new ArrayList<>();
            for (Rank rank : ranks) {
                done.add(rank.submit(new RankTask.EndGeneration()));
            }
            for (CompletableFuture<RankTask.Done> future : done) {
                joinUninterruptibly(future);
            }
            closeAll(slices);
        }
    }

    /** Submits {@code task} to {@code rank}; when it fails there, the generation's communication is aborted. */
    private CompletableFuture<Void> submit(int rank, RankTask task) {
        return ranks.get(rank).submit(task).handle((done, failure) -> {
            if (failure != null) {
                Throwable cause = failure instanceof CompletionException wrapped && wrapped.getCause() != null
                        ? wrapped.getCause() : failure;
                comm.abort(cause);
                throw cause instanceof RuntimeException runtime ? runtime : new CompletionException(cause);
            }
            return null;
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

    private static String shapeTag(String name) {
        return "shape/" + name;
    }

    /** A step input of group {@code group} that rank 0 sends to {@code rank} once the step's inputs are built. */
    private record StepSend(int group, int rank, String tag, String name, boolean shapeOnly) {
    }

    /** A holder's part of a CFG-parallel all-gather, submitted. */
    private record Contribution(int holder, List<Integer> group, String tag, CompletableFuture<Void> done) {
    }

    /** Runs handed to ranks: their futures, their labels for errors, and the step inputs still to send them. */
    private record Submitted(List<CompletableFuture<Void>> futures, List<String> labels, List<StepSend> sends) {
        static Submitted none() {
            return new Submitted(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        }

        void add(Submitted more) {
            futures.addAll(more.futures);
            labels.addAll(more.labels);
            sends.addAll(more.sends);
        }
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
