package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.AsyncDiffException;
import dev.asyncdiff.api.DenoiseRequest;
import dev.asyncdiff.api.DenoiserComponent;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.StepProgress;
import dev.asyncdiff.api.Tensor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * The denoising loop of the original AsyncDiff over components placed on device workers.
 *
 * <p>With timesteps τ<sub>0</sub>…τ<sub>K−1</sub>, warm-up W and components C<sub>0</sub>…C<sub>N−1</sub>:
 * <ul>
 *   <li>k &lt; W: C<sub>0</sub> → … → C<sub>N−1</sub> in order, each on its device.</li>
 *   <li>stride 1, k ≥ W: every component runs at once; C<sub>0</sub> takes x<sub>k</sub>, every other
 *       component the outputs of the earlier ones from step k−1, all take τ<sub>k</sub> (τ<sub>k−1</sub>
 *       with time shift); C<sub>N−1</sub> gives ε<sub>k</sub>.</li>
 *   <li>stride 2, k ≥ W: on odd k the components run at once with τ<sub>k+1</sub> (τ<sub>k</sub> with
 *       time shift; τ<sub>k</sub> on the last step) while a replica of C<sub>N−1</sub> on device N takes
 *       the same inputs with τ<sub>k</sub> (τ<sub>k−1</sub>) and gives ε<sub>k</sub>; on even k,
 *       ε<sub>k</sub> is C<sub>N−1</sub>'s latest output and nothing runs.</li>
 * </ul>
 * Each round's outputs are new tensors, so a round reads the previous round's while writing its
 * own (double buffering); within the process they are handed over by reference.
 */
final class DenoisingLoop {
    private final List<? extends DenoiserComponent> components;
    private final List<DeviceWorker> workers;
    private final DenoiserComponent replica;
    private final DeviceWorker replicaWorker;
    private final ComponentRouting routing;

    /**
     * @param components    the components in order
     * @param workers       the worker running each component (same order)
     * @param replica       a second instance of the last component for stride 2, or null
     * @param replicaWorker the worker running the replica, or null
     */
    DenoisingLoop(List<? extends DenoiserComponent> components, List<DeviceWorker> workers,
                  DenoiserComponent replica, DeviceWorker replicaWorker) {
        this.components = List.copyOf(components);
        this.workers = List.copyOf(workers);
        this.replica = replica;
        this.replicaWorker = replicaWorker;
        this.routing = ComponentRouting.of(components);
    }

    /** The inputs component 0 declares. */
    List<dev.asyncdiff.api.TensorSpec> firstComponentInputs() {
        return components.get(0).inputs();
    }

    /**
     * Runs the loop. With {@code sequentialOnly}, every step is a sequential step.
     *
     * @return the final latents; the caller closes them
     */
    Tensor run(DenoiseRequest request, AsyncConfig config, boolean sequentialOnly) {
        if (!sequentialOnly && config.modelN() != components.size()) {
            throw new IllegalArgumentException("config modelN=" + config.modelN() + " but " + components.size()
                    + " components are loaded");
        }
        if (!sequentialOnly && config.stride() == 2 && replica == null) {
            throw new IllegalArgumentException("stride 2 needs a replica of the last component on device N");
        }
        double[] timesteps = request.timesteps();
        int steps = timesteps.length;
        long start = System.nanoTime();
        Tensor latents = request.latents();
        boolean ownsLatents = false;
        List<NamedTensors> latest = null;
        int shift = config.timeShift() ? 1 : 0;
        try {
            for (int k = 0; k < steps; k++) {
                request.cancellation().throwIfCancelled();
                boolean sequential = sequentialOnly || k < config.warmUp();
                List<Tensor> stepTensors = new ArrayList<>();
                try {
                    Tensor modelInput = modelInput(request, latents, timesteps[k], stepTensors);
                    Tensor prediction;
                    if (sequential) {
                        latest = replace(latest, sequentialPass(request, modelInput, timesteps[k], k, steps));
                        prediction = last(latest).get(routing.prediction());
                    } else if (config.stride() == 1) {
                        latest = replace(latest, parallelRound(request, modelInput, timesteps[k - shift], latest,
                                Double.NaN, k, steps));
                        prediction = last(latest).get(routing.prediction());
                    } else if (k % 2 == 1) {
                        double main = k < steps - 1 ? timesteps[k + 1 - shift] : timesteps[k - shift];
                        List<NamedTensors> round = parallelRound(request, modelInput, main, latest,
                                timesteps[k - shift], k, steps);
                        NamedTensors replicaOutputs = round.remove(round.size() - 1);
                        stepTensors.add(replicaOutputs.take(routing.prediction()));
                        replicaOutputs.close();
                        prediction = stepTensors.get(stepTensors.size() - 1);
                        latest = replace(latest, round);
                    } else {
                        prediction = last(latest).get(routing.prediction());
                    }
                    Tensor guided = prediction;
                    if (request.guided()) {
                        guided = LatentOps.guide(prediction, request.guidanceScale());
                        stepTensors.add(guided);
                    }
                    Tensor next = request.scheduler().step(guided, timesteps[k], latents, request.rng());
                    if (ownsLatents) {
                        latents.close();
                    }
                    latents = next;
                    ownsLatents = true;
                } finally {
                    stepTensors.forEach(Tensor::close);
                }
                request.progress().onStep(new StepProgress(k + 1, steps, sequential ? StepProgress.Phase.WARM_UP
                        : StepProgress.Phase.PARALLEL, Duration.ofNanos(System.nanoTime() - start)));
            }
            Tensor result = ownsLatents ? latents : latents.to(latents.dtype());
            ownsLatents = false;
            return result;
        } finally {
            if (ownsLatents) {
                latents.close();
            }
            closeAll(latest);
        }
    }

    private static Tensor modelInput(DenoiseRequest request, Tensor latents, double timestep, List<Tensor> owned) {
        Tensor scaled = request.scheduler().scaleModelInput(latents, timestep);
        if (scaled != latents) {
            owned.add(scaled);
        }
        if (!request.guided()) {
            return scaled;
        }
        Tensor doubled = LatentOps.doubleBatch(scaled);
        owned.add(doubled);
        return doubled;
    }

    /** C_0 → … → C_{N−1} in order on their workers, each reading what this pass produced so far. */
    private List<NamedTensors> sequentialPass(DenoiseRequest request, Tensor modelInput, double timestep, int step,
                                              int steps) {
        List<NamedTensors> produced = new ArrayList<>();
        try (Tensor t = Tensor.scalar((float) timestep)) {
            for (int i = 0; i < components.size(); i++) {
                DenoiserComponent component = components.get(i);
                Map<String, Tensor> inputs = routing.inputsFor(i, component, modelInput, t, request.conditioning(),
                        produced);
                produced.add(await(List.of(workers.get(i).submit(() -> component.run(inputs))),
                        List.of(label(i, workers.get(i))), step, steps).get(0));
            }
            return produced;
        } catch (RuntimeException e) {
            closeAll(produced);
            throw e;
        }
    }

    /**
     * Every component at once, reading {@code previous}; with a finite {@code replicaTimestep} the
     * replica of the last component runs too and its outputs come last in the returned list.
     */
    private List<NamedTensors> parallelRound(DenoiseRequest request, Tensor modelInput, double timestep,
                                             List<NamedTensors> previous, double replicaTimestep, int step, int steps) {
        try (Tensor t = Tensor.scalar((float) timestep);
             Tensor tReplica = Tensor.scalar((float) replicaTimestep)) {
            List<CompletableFuture<NamedTensors>> futures = new ArrayList<>();
            List<String> labels = new ArrayList<>();
            for (int i = 0; i < components.size(); i++) {
                DenoiserComponent component = components.get(i);
                Map<String, Tensor> inputs = routing.inputsFor(i, component, modelInput, t, request.conditioning(),
                        previous);
                futures.add(workers.get(i).submit(() -> component.run(inputs)));
                labels.add(label(i, workers.get(i)));
            }
            if (!Double.isNaN(replicaTimestep)) {
                int last = components.size() - 1;
                Map<String, Tensor> inputs = routing.inputsFor(last, replica, modelInput, tReplica,
                        request.conditioning(), previous);
                futures.add(replicaWorker.submit(() -> replica.run(inputs)));
                labels.add("replica of component " + last + " on " + replicaWorker.device());
            }
            return await(futures, labels, step, steps);
        }
    }

    /**
     * Waits for every future. When one fails, the others still finish (a native run cannot be
     * interrupted), their outputs are closed and the failure is rethrown with the component named;
     * an interrupt becomes a {@link CancellationException} once the running work has finished.
     */
    private static List<NamedTensors> await(List<CompletableFuture<NamedTensors>> futures, List<String> labels,
                                            int step, int steps) {
        boolean interrupted = false;
        Throwable failure = null;
        String failed = null;
        List<NamedTensors> results = new ArrayList<>();
        for (int i = 0; i < futures.size(); i++) {
            while (true) {
                try {
                    results.add(futures.get(i).get());
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    if (failure == null) {
                        failure = e.getCause();
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
            return results;
        }
        closeAll(results);
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

    private static String label(int component, DeviceWorker worker) {
        return "component " + component + " on " + worker.device();
    }

    private static NamedTensors last(List<NamedTensors> outputs) {
        return outputs.get(outputs.size() - 1);
    }

    private static List<NamedTensors> replace(List<NamedTensors> old, List<NamedTensors> fresh) {
        closeAll(old);
        return fresh;
    }

    private static void closeAll(List<NamedTensors> outputs) {
        if (outputs != null) {
            outputs.forEach(NamedTensors::close);
        }
    }
}
