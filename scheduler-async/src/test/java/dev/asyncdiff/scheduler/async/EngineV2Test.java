package dev.asyncdiff.scheduler.async;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.DenoiseRequest;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.Guidance;
import dev.asyncdiff.api.HostBufferPool;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.api.StepContext;
import dev.asyncdiff.api.StepInputs;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.StrategyContext;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Engine v2 on a denoiser that treats every batch entry on its own: CFG-parallel against guidance in
 * one batch, the adapter's per-step inputs (a 9-channel inpainting-style sample), per-frame guidance,
 * and buffer reuse over long runs.
 */
class EngineV2Test {
    private static final int STEPS = 7;
    private static final double SCALE = 7.5;

    @TempDir
    Path dir;
    private final BatchwiseModel.FakeBackend backend = new BatchwiseModel.FakeBackend();

    @AfterEach
    void everySessionIsClosed() {
        assertThat(backend.opened).allSatisfy(s -> assertThat(s).hasToString("closed"));
    }

    private ParallelStrategy strategy(boolean sequential, AsyncConfig config, int groups, int inChannels) {
        List<Device> devices = new ArrayList<>();
        int perGroup = sequential ? Math.max(1, config.modelN() - 1) : config.devicesRequired();
        for (int i = 0; i < perGroup * groups; i++) {
            devices.add(Device.cpu(i));
        }
        StrategyContext context = new StrategyContext(config, parts -> BatchwiseModel.files(dir, parts, inChannels),
                backend, devices, groups, null);
        return sequential ? new SequentialStrategyProvider().create(context) : new AsyncStrategyProvider().create(context);
    }

    /** Final latents from fixed noise, with {@code [unconditional; conditional]} conditioning. */
    private static float[] denoise(ParallelStrategy strategy, Guidance guidance, StepInputs hook) {
        return denoise(strategy, guidance, hook, STEPS, null);
    }

    private static float[] denoise(ParallelStrategy strategy, Guidance guidance, StepInputs hook, int steps,
                                   dev.asyncdiff.api.ProgressListener progress) {
        return denoise(strategy, guidance, hook, steps, progress, 1);
    }

    private static float[] denoise(ParallelStrategy strategy, Guidance guidance, StepInputs hook, int steps,
                                   dev.asyncdiff.api.ProgressListener progress, int batch) {
        SplittableRandom random = new SplittableRandom(11);
        float[] noise = gaussian(random, batch * BatchwiseModel.LATENT_CHANNELS * BatchwiseModel.PIXELS);
        float[] uncond = gaussian(random, batch * BatchwiseModel.CONDITION);
        float[] cond = gaussian(random, batch * BatchwiseModel.CONDITION);
        int branches = guidance.branches();
        float[] text = new float[branches * uncond.length];
        if (branches == 2) {
            System.arraycopy(uncond, 0, text, 0, uncond.length);
        }
        System.arraycopy(cond, 0, text, text.length - cond.length, cond.length);
        FakeModel.Scheduler scheduler = new FakeModel.Scheduler();
        scheduler.setTimesteps(steps);
        try (Tensor latents = Tensor.ofFloats(noise, batch, BatchwiseModel.LATENT_CHANNELS, 2, 2);
             Tensor context = Tensor.ofFloats(text, (long) branches * batch, BatchwiseModel.CONDITION);
             Tensor result = strategy.denoise(new DenoiseRequest(scheduler, latents,
                     Map.of("encoder_hidden_states", context), guidance, hook, new SplittableRandom(1), progress,
                     null, null))) {
            return result.toFloatArray();
        }
    }

    private static float[] gaussian(SplittableRandom random, int count) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return values;
    }

    static Stream<Arguments> schedules() {
        return Stream.of(
                Arguments.of(true, AsyncConfig.SEQUENTIAL),
                Arguments.of(true, new AsyncConfig(3, 1, 1, false)),
                Arguments.of(false, new AsyncConfig(2, 1, 1, false)),
                Arguments.of(false, new AsyncConfig(2, 1, 2, true)),
                Arguments.of(false, new AsyncConfig(2, 2, 1, false)),
                Arguments.of(false, new AsyncConfig(3, 2, 2, true)),
                Arguments.of(false, new AsyncConfig(3, 1, 3, false)));
    }

    @ParameterizedTest(name = "sequential={0} {1}")
    @MethodSource("schedules")
    void cfgParallelEqualsGuidanceInOneBatchBitForBit(boolean sequential, AsyncConfig config) {
        float[] batched;
        try (ParallelStrategy strategy = strategy(sequential, config, 1, 4)) {
            batched = denoise(strategy, Guidance.of(SCALE), null);
        }
        try (ParallelStrategy strategy = strategy(sequential, config, 2, 4)) {
            assertThat(((WorkerStrategy) strategy).guidanceGroups()).isEqualTo(2);
            assertThat(denoise(strategy, Guidance.of(SCALE), null)).containsExactly(batched);
        }
    }

    @Test
    void cfgParallelWithoutGuidanceRunsTheFirstGroupAlone() {
        float[] alone;
        try (ParallelStrategy strategy = strategy(false, AsyncConfig.of(2, 1, false), 1, 4)) {
            alone = denoise(strategy, Guidance.none(), null);
        }
        try (ParallelStrategy strategy = strategy(false, AsyncConfig.of(2, 1, false), 2, 4)) {
            assertThat(denoise(strategy, Guidance.none(), null)).containsExactly(alone);
        }
    }

    /** An inpainting-style hook: latents, a mask and masked latents concatenated into 9 channels. */
    private static final class InpaintingInputs implements StepInputs {
        final List<String> calls = Collections.synchronizedList(new ArrayList<>());
        final float maskValue;

        InpaintingInputs(float maskValue) {
            this.maskValue = maskValue;
        }

        @Override
        public NamedTensors build(StepContext step, Tensor scaledLatents) {
            calls.add(step.step() + "/" + step.branch() + "/" + step.guessMode());
            float[] latents = scaledLatents.toFloatArray();
            int batch = (int) scaledLatents.dim(0);
            int per = BatchwiseModel.LATENT_CHANNELS * BatchwiseModel.PIXELS;
            float[] sample = new float[batch * 9 * BatchwiseModel.PIXELS];
            for (int b = 0; b < batch; b++) {
                int base = b * 9 * BatchwiseModel.PIXELS;
                System.arraycopy(latents, b * per, sample, base, per);
                for (int p = 0; p < BatchwiseModel.PIXELS; p++) {
                    sample[base + per + p] = p % 2 == 0 ? maskValue : 0f;
                }
                for (int j = 0; j < per; j++) {
                    sample[base + per + BatchwiseModel.PIXELS + j] = 0.25f * (j % 3) - 0.1f * step.branch();
                }
            }
            return new NamedTensors().put(StepInputs.SAMPLE, Tensor.ofFloats(sample, batch, 9, 2, 2));
        }
    }

    /** The same loop written out: per branch build the 9 channels, run the whole model, guide, step. */
    private static float[] reference(StepInputs hook, Guidance guidance) {
        SplittableRandom random = new SplittableRandom(11);
        float[] x = gaussian(random, BatchwiseModel.LATENT_CHANNELS * BatchwiseModel.PIXELS);
        float[] uncond = gaussian(random, BatchwiseModel.CONDITION);
        float[] cond = gaussian(random, BatchwiseModel.CONDITION);
        FakeModel.Scheduler scheduler = new FakeModel.Scheduler();
        scheduler.setTimesteps(STEPS);
        double[] timesteps = scheduler.timesteps();
        for (int k = 0; k < STEPS; k++) {
            float[] scaled = FakeModel.Scheduler.scale(x, timesteps[k]);
            List<float[]> eps = new ArrayList<>();
            for (int branch = 0; branch < 2; branch++) {
                float[] sample;
                try (Tensor s = Tensor.ofFloats(scaled, 1, 4, 2, 2);
                     NamedTensors built = hook.build(new StepContext(k, STEPS, timesteps[k], branch, 2, false), s)) {
                    sample = built.get(StepInputs.SAMPLE).toFloatArray();
                }
                Map<String, float[]> in = new HashMap<>();
                in.put("sample", sample);
                in.put("encoder_hidden_states", branch == 0 ? uncond : cond);
                eps.add(BatchwiseModel.stage(0, 1, 9, in, (float) timesteps[k]).get("out_sample"));
            }
            float[] guided;
            try (Tensor u = Tensor.ofFloats(eps.get(0), 1, 4, 2, 2); Tensor c = Tensor.ofFloats(eps.get(1), 1, 4, 2, 2);
                 Tensor g = guidance.combine(List.of(u, c))) {
                guided = g.toFloatArray();
            }
            x = FakeModel.Scheduler.update(guided, timesteps[k], x);
        }
        return x;
    }

    @Test
    void perStepInputsReachTheDenoiserUnderSequentialAsyncAndCfgParallel() {
        Guidance guidance = Guidance.of(SCALE);
        float[] expected = reference(new InpaintingInputs(1f), guidance);
        InpaintingInputs hook = new InpaintingInputs(1f);
        try (ParallelStrategy strategy = strategy(true, AsyncConfig.SEQUENTIAL, 1, 9)) {
            assertThat(denoise(strategy, guidance, hook)).as("sequential, one batch").containsExactly(expected);
        }
        assertThat(hook.calls).as("one call per branch and step").hasSize(2 * STEPS).contains("0/0/false", "0/1/false",
                (STEPS - 1) + "/1/false");
        try (ParallelStrategy strategy = strategy(true, AsyncConfig.SEQUENTIAL, 2, 9)) {
            assertThat(denoise(strategy, guidance, new InpaintingInputs(1f))).as("sequential, CFG-parallel")
                    .containsExactly(expected);
        }
        float[] chained;
        try (ParallelStrategy strategy = strategy(true, new AsyncConfig(3, 1, 1, false), 1, 9)) {
            chained = denoise(strategy, guidance, new InpaintingInputs(1f));
        }
        for (AsyncConfig config : List.of(new AsyncConfig(3, 1, 1, false), new AsyncConfig(3, 2, 2, false))) {
            float[] async;
            try (ParallelStrategy strategy = strategy(false, config, 1, 9)) {
                async = denoise(strategy, guidance, new InpaintingInputs(1f));
            }
            try (ParallelStrategy strategy = strategy(false, config, 2, 9)) {
                assertThat(denoise(strategy, guidance, new InpaintingInputs(1f))).as("%s CFG-parallel", config)
                        .containsExactly(async);
            }
            try (ParallelStrategy strategy = strategy(false, config.withWarmUp(STEPS), 2, 9)) {
                assertThat(denoise(strategy, guidance, new InpaintingInputs(1f))).as("%s warm-up over every step", config)
                        .containsExactly(chained);
            }
            try (ParallelStrategy strategy = strategy(false, config, 1, 9)) {
                assertThat(denoise(strategy, guidance, new InpaintingInputs(0f))).as("the mask channel is read")
                        .isNotEqualTo(async);
            }
        }
    }

    @Test
    void guessModeReachesTheHookAndAStepInputWithoutSampleIsAClearError() {
        InpaintingInputs hook = new InpaintingInputs(1f);
        try (ParallelStrategy strategy = strategy(true, AsyncConfig.SEQUENTIAL, 2, 9)) {
            denoise(strategy, ((Guidance.Classifier) Guidance.of(SCALE)).withGuessMode(true), hook);
            assertThat(hook.calls).contains("0/0/true", "0/1/true");
            assertThatThrownBy(() -> denoise(strategy, Guidance.of(SCALE),
                    (step, latents) -> new NamedTensors().put("mask", latents.to(latents.dtype()))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("without 'sample'");
        }
    }

    @Test
    void perFrameScalesGuideEachFrameWithItsOwnScale() {
        double[] ramp = {1.5, 3.0};
        Guidance perFrame = Guidance.perFrame(ramp, 0);
        try (ParallelStrategy batched = strategy(false, AsyncConfig.of(2, 1, false), 1, 4);
             ParallelStrategy parallel = strategy(false, AsyncConfig.of(2, 1, false), 2, 4)) {
            float[] one = denoise(batched, perFrame, null, STEPS, null, 2);
            assertThat(denoise(parallel, perFrame, null, STEPS, null, 2)).containsExactly(one);
            assertThat(one).isNotEqualTo(denoise(batched, Guidance.of(1.5), null, STEPS, null, 2));
        }
    }

    static Stream<Arguments> longRuns() {
        return Stream.of(Arguments.of(new AsyncConfig(2, 1, 1, false), 1), Arguments.of(new AsyncConfig(2, 2, 1, false), 2),
                Arguments.of(new AsyncConfig(3, 1, 1, false), 1));
    }

    @ParameterizedTest(name = "{0} groups={1}")
    @MethodSource("longRuns")
    void workersReuseTheirOutputBuffersOver200Steps(AsyncConfig config, int groups) {
        try (ParallelStrategy strategy = strategy(false, config, groups, 4)) {
            List<DeviceWorker> workers = ((WorkerStrategy) strategy).workers();
            long[] afterWarmUp = new long[workers.size()];
            denoise(strategy, Guidance.of(SCALE), null, 200, progress -> {
                if (progress.step() == 5) {
                    for (int i = 0; i < afterWarmUp.length; i++) {
                        afterWarmUp[i] = workers.get(i).pool().allocationCount();
                    }
                }
            });
            for (int i = 0; i < workers.size(); i++) {
                HostBufferPool pool = workers.get(i).pool();
                assertThat(pool.allocationCount()).as("allocations on %s after 200 steps", workers.get(i).device())
                        .isEqualTo(afterWarmUp[i]).isPositive().isLessThanOrEqualTo(6);
                assertThat(pool.reuseCount()).as("reuses on %s", workers.get(i).device()).isGreaterThan(90);
            }
            long first = workers.get(0).pool().allocationCount();
            denoise(strategy, Guidance.of(SCALE), null, 20, null);
            assertThat(workers.get(0).pool().allocationCount()).as("a second generation allocates nothing new")
                    .isEqualTo(first);
        }
    }

    @Test
    void cfgParallelNeedsTwoEqualDisjointGroups() {
        List<Device> three = List.of(Device.CPU, Device.cpu(1), Device.cpu(2));
        assertThatThrownBy(() -> new StrategyContext(AsyncConfig.SEQUENTIAL, parts -> List.of(), backend, three, 2, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 equal groups");
        List<Device> two = List.of(Device.CPU, Device.cpu(1));
        StrategyContext context = new StrategyContext(AsyncConfig.of(2, 1, false),
                parts -> BatchwiseModel.files(dir, parts, 4), backend, two, 2, null);
        assertThatThrownBy(() -> new AsyncStrategyProvider().create(context)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("needs 4 devices (2 per CFG-parallel group), got 2");
    }
}
