package dev.asyncdiff.scheduler.async;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.DenoiseRequest;
import dev.asyncdiff.api.DenoiserComponent;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The engine against a straightforward simulation of the original AsyncDiff's rules, on fake components. */
class ScheduleReferenceTest {
    private static final int STEPS = 7;

    static Stream<Arguments> configurations() {
        List<Arguments> all = new ArrayList<>();
        for (int n = 1; n <= 4; n++) {
            for (int stride = 1; stride <= 2; stride++) {
                for (int warmUp = 1; warmUp <= STEPS + 1; warmUp++) {
                    for (boolean shift : new boolean[] {false, true}) {
                        all.add(Arguments.of(n, stride, warmUp, shift, warmUp % 2 == 0 ? 7.5 : 1.0));
                    }
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "N={0} stride={1} warmUp={2} timeShift={3} guidance={4}")
    @MethodSource("configurations")
    void engineEqualsTheOriginalRulesExactly(int n, int stride, int warmUp, boolean timeShift, double guidance) {
        SplittableRandom random = new SplittableRandom(n * 100L + stride * 10L + warmUp);
        float[] initial = new float[12];
        float[] condition = new float[12];
        for (int j = 0; j < initial.length; j++) {
            initial[j] = (float) random.nextGaussian();
            condition[j] = (float) random.nextGaussian() * 0.1f;
        }
        FakeModel.Scheduler scheduler = new FakeModel.Scheduler();
        scheduler.setTimesteps(STEPS);
        // N = 1 runs sequential steps whatever the stride and time shift (the original's N = 1 with
        // stride 2 or time shift steps from stale inputs): the original's sequential result, warm-up
        // covering every step.
        float[] expected = (n == 1 ? new OriginalAsyncDiffSimulation(1, 1, STEPS, false)
                : new OriginalAsyncDiffSimulation(n, stride, warmUp, timeShift))
                .run(initial, condition, scheduler.timesteps(), guidance);

        AsyncConfig config = new AsyncConfig(n, stride, warmUp, timeShift);
        float[] actual = runEngine(config, initial, condition, scheduler, guidance);
        assertThat(actual).containsExactly(expected);
    }

    static float[] runEngine(AsyncConfig config, float[] initial, float[] condition, FakeModel.Scheduler scheduler,
                             double guidance) {
        int n = config.modelN();
        List<DeviceWorker> workers = new ArrayList<>();
        List<DenoiserComponent> components = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Device device = Device.cpu(i);
            workers.add(new DeviceWorker(device));
            components.add(FakeModel.component(i, n, device, in -> { }));
        }
        boolean replicated = config.stride() == 2 && n > 1;
        DeviceWorker replicaWorker = replicated ? new DeviceWorker(Device.cpu(n)) : null;
        DenoiserComponent replica = replicated ? FakeModel.component(n - 1, n, replicaWorker.device(), in -> { }) : null;
        long batch = guidance > 1 ? 2 : 1;
        try (Tensor latents = Tensor.ofFloats(initial, FakeModel.SHAPE);
             Tensor text = Tensor.ofFloats(guidance > 1 ? twice(condition) : condition, batch, 2, 3, 2)) {
            DenoiseRequest request = new DenoiseRequest(scheduler, latents, Map.of("encoder_hidden_states", text),
                    guidance, new SplittableRandom(1), null, null);
            try (DenoisingLoop loop = DenoisingLoop.inProcess(components, workers, replica, replicaWorker);
                 Tensor result = loop.run(request, config, false)) {
                return result.toFloatArray();
            }
        } finally {
            workers.forEach(DeviceWorker::close);
            if (replicaWorker != null) {
                replicaWorker.close();
            }
        }
    }

    private static float[] twice(float[] x) {
        float[] out = new float[2 * x.length];
        System.arraycopy(x, 0, out, 0, x.length);
        System.arraycopy(x, 0, out, x.length, x.length);
        return out;
    }
}
