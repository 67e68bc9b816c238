package dev.asyncdiff.scheduler.async;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.AsyncDiffException;
import dev.asyncdiff.api.CancellationToken;
import dev.asyncdiff.api.ComponentFile;
import dev.asyncdiff.api.DenoiseRequest;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.ModelNotFoundException;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.StrategyContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Failures, cancellation and closing of the worker strategies, on fake components. */
class LifecycleTest {
    private static final int STEPS = 6;

    @TempDir
    Path dir;
    private volatile Consumer<Map<String, Tensor>> hook = in -> { };
    private final AtomicInteger runs = new AtomicInteger();
    private final List<InferenceSession> opened = new ArrayList<>();

    /** Loads {@code stage-I-of-N} files as fake components that call {@link #hook} on every run. */
    private final Backend backend = new Backend() {
        @Override
        public String name() {
            return "fake";
        }

        @Override
        public synchronized InferenceSession load(Path file, Device device) {
            String[] parts = file.getFileName().toString().split("-");
            if (parts[0].equals("missing")) {
                throw new ModelNotFoundException(file, "component");
            }
            int i = Integer.parseInt(parts[1]);
            int n = Integer.parseInt(parts[3]);
            var component = FakeModel.component(i, n, device, in -> {
                runs.incrementAndGet();
                hook.accept(in);
            });
            InferenceSession session = new InferenceSession() {
                private boolean closed;

                @Override
                public List<TensorSpec> inputs() {
                    return component.inputs();
                }

                @Override
                public List<TensorSpec> outputs() {
                    return component.outputs();
                }

                @Override
                public Device device() {
                    return device;
                }

                @Override
                public NamedTensors run(Map<String, Tensor> inputs) {
                    return component.run(inputs);
                }

                @Override
                public void close() {
                    closed = true;
                }

                @Override
                public String toString() {
                    return closed ? "closed" : "open";
                }
            };
            opened.add(session);
            return session;
        }

        @Override
        public void close() {
        }
    };

    private List<ComponentFile> files(int parts, String prefix) throws Exception {
        List<ComponentFile> files = new ArrayList<>();
        for (int i = 0; i < parts; i++) {
            Path file = dir.resolve(prefix + "-" + i + "-of-" + parts);
            Files.write(file, new byte[100 * (i + 1)]);
            files.add(new ComponentFile(i, file, List.of(), List.of()));
        }
        return files;
    }

    private ParallelStrategy strategy(AsyncConfig config, String prefix) throws Exception {
        List<ComponentFile> files = files(config.modelN(), prefix);
        List<Device> devices = new ArrayList<>();
        for (int i = 0; i < config.devicesRequired(); i++) {
            devices.add(Device.cpu(i));
        }
        return new AsyncStrategyProvider().create(new StrategyContext(config, parts -> files, backend, devices));
    }

    private static Tensor denoise(ParallelStrategy strategy, CancellationToken token,
                                  dev.asyncdiff.api.ProgressListener progress) {
        FakeModel.Scheduler scheduler = new FakeModel.Scheduler();
        scheduler.setTimesteps(STEPS);
        try (Tensor latents = Tensor.ofFloats(new float[12], FakeModel.SHAPE);
             Tensor text = Tensor.ofFloats(new float[12], FakeModel.SHAPE)) {
            return strategy.denoise(new DenoiseRequest(scheduler, latents, Map.of("encoder_hidden_states", text), 1.0,
                    new SplittableRandom(1), progress, token));
        }
    }

    @AfterEach
    void noWorkerThreadOutlivesItsStrategy() throws InterruptedException {
        for (int wait = 0; wait < 50 && workerThreads() > 0; wait++) {
            Thread.sleep(20);
        }
        assertThat(workerThreads()).as("live asyncdiff worker threads").isZero();
        assertThat(opened).allSatisfy(s -> assertThat(s).hasToString("closed"));
    }

    private static long workerThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("asyncdiff-cpu") && t.isAlive()).count();
    }

    @Test
    void aFailingComponentFailsTheGenerationWithItsCause() throws Exception {
        try (ParallelStrategy strategy = strategy(AsyncConfig.of(3, 1, false), "stage")) {
            IllegalStateException boom = new IllegalStateException("boom");
            hook = in -> {
                if (in.containsKey("h0") && runs.get() > 7) {
                    throw boom;
                }
            };
            assertThatThrownBy(() -> denoise(strategy, null, null)).isInstanceOf(AsyncDiffException.class)
                    .hasMessageContaining("component 1 on cpu:1 failed at step").hasMessageContaining("boom")
                    .hasCause(boom);
            hook = in -> { };
            try (Tensor result = denoise(strategy, null, null)) {
                assertThat(result.toFloatArray()).hasSize(12);
            }
        }
    }

    @Test
    void cancellingStopsWithinOneStep() throws Exception {
        CancellationToken token = new CancellationToken();
        AtomicInteger stepsDone = new AtomicInteger();
        try (ParallelStrategy strategy = strategy(AsyncConfig.of(2, 1, false), "stage")) {
            assertThatThrownBy(() -> denoise(strategy, token, progress -> {
                stepsDone.set(progress.step());
                if (progress.step() == 2) {
                    token.cancel();
                }
            })).isInstanceOf(CancellationException.class);
            assertThat(stepsDone.get()).isEqualTo(2);
            assertThat(runs.get()).as("component runs of two steps of two components").isEqualTo(4);
        }
    }

    @Test
    void interruptingTheCallerCancelsOnceTheRunningStepEnds() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        java.util.concurrent.atomic.AtomicBoolean blocked = new java.util.concurrent.atomic.AtomicBoolean();
        try (ParallelStrategy strategy = strategy(AsyncConfig.of(2, 2, false), "stage")) {
            // Warm-up: runs 1-2; the first parallel round (step 2) runs C0, C1 and the replica: runs 3-5.
            hook = in -> {
                if (runs.get() >= 5 && blocked.compareAndSet(false, true)) {
                    entered.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            };
            Thread caller = new Thread(() -> {
                try {
                    denoise(strategy, null, null).close();
                } catch (Throwable t) {
                    outcome.set(t);
                }
            });
            caller.start();
            assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
            caller.interrupt();
            release.countDown();
            caller.join(10_000);
            assertThat(caller.isAlive()).as("the caller returned").isFalse();
            assertThat(outcome.get()).isInstanceOf(CancellationException.class).hasMessageContaining("interrupted");
            assertThat(runs.get()).as("no component ran after the interrupted round").isEqualTo(5);
        }
    }

    @Test
    void closingIsIdempotentAndUseAfterCloseIsAClearError() throws Exception {
        ParallelStrategy strategy = strategy(AsyncConfig.of(2, 2, false), "stage");
        assertThat(strategy.weightBytesPerDevice()).containsEntry(Device.cpu(0), 100L)
                .containsEntry(Device.cpu(1), 200L).containsEntry(Device.cpu(2), 200L);
        strategy.close();
        strategy.close();
        assertThatThrownBy(() -> denoise(strategy, null, null)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void tooFewDevicesIsAClearError() throws Exception {
        List<ComponentFile> files = files(2, "stage");
        StrategyContext context = new StrategyContext(AsyncConfig.of(2, 2, false), parts -> files, backend,
                List.of(Device.CPU, Device.cpu(1)));
        assertThatThrownBy(() -> new AsyncStrategyProvider().create(context))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs 3 devices, got 2");
    }

    @Test
    void aComponentThatFailsToLoadReleasesWhatWasLoaded() throws Exception {
        List<ComponentFile> files = new ArrayList<>(files(2, "stage"));
        Path missing = dir.resolve("missing-1-of-2");
        files.set(1, new ComponentFile(1, missing, List.of(), List.of()));
        Files.write(missing, new byte[1]);
        StrategyContext context = new StrategyContext(AsyncConfig.of(2, 1, false), parts -> files, backend,
                List.of(Device.CPU, Device.cpu(1)));
        assertThatThrownBy(() -> new AsyncStrategyProvider().create(context))
                .isInstanceOf(ModelNotFoundException.class).hasMessageContaining("missing-1-of-2");
    }
}
