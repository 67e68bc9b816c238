package dev.asyncdiff.scheduler.async;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.ComponentFile;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.DenoiseRequest;
import dev.asyncdiff.api.Guidance;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.api.StepInputs;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.backend.onnx.OnnxBackendProvider;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.split.GraphSplitter;
import dev.asyncdiff.samplers.Samplers;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.spi.CommunicatorProvider;
import dev.asyncdiff.spi.DenoiserSource;
import dev.asyncdiff.spi.StrategyContext;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.FamilyPreset;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SchedulerConfigs;
import dev.asyncdiff.synthetic.UNetConfig;
import dev.asyncdiff.synthetic.UNetGraph;
import dev.asyncdiff.synthetic.Weights;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** A synthetic tiny UNet of a family on disk, its splits, and denoising runs over it with the real scheduler. */
final class SyntheticUNetFixture implements AutoCloseable {
    static final int LATENT = 8;
    final Family family;
    final UNetConfig config;
    final Path unet;
    final DenoiserSource source;
    final Backend backend;
    private final String schedulerJson;

    SyntheticUNetFixture(Family family, Path dir) throws Exception {
        this.family = family;
        this.config = FamilyPreset.of(family, Scale.TINY).unet();
        this.unet = dir.resolve("unet/model.onnx");
        UNetGraph.build(config, new Weights(3), DType.FP32).write(unet, ExternalDataPolicy.AUTO);
        GraphSplitter splitter = new GraphSplitter(dir.resolve("splits"));
        this.source = parts -> parts == 1
                ? List.of(new ComponentFile(0, unet, List.of(), List.of()))
                : splitter.split(unet, parts, LATENT, LATENT, null, ExternalDataPolicy.AUTO).componentFiles();
        this.schedulerJson = new ObjectMapper().writeValueAsString(SchedulerConfigs.of(family));
        List<Device> devices = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            devices.add(Device.cpu(i));
        }
        this.backend = new OnnxBackendProvider().open(new BackendOptions(devices, Map.of()));
    }

    ParallelStrategy strategy(String name, AsyncConfig config) {
        return strategy(name, config, 1);
    }

    /** The strategy on {@code groups} guidance groups of {@code config.devicesRequired()} devices each. */
    ParallelStrategy strategy(String name, AsyncConfig config, int groups) {
        return strategy(name, config, groups, source, null);
    }

    /** The strategy over {@code components}, its ranks connected by {@code communicator} (null: in process). */
    ParallelStrategy strategy(String name, AsyncConfig config, int groups, DenoiserSource components,
                              CommunicatorProvider communicator) {
        List<Device> devices = new ArrayList<>();
        for (int i = 0; i < config.devicesRequired() * groups; i++) {
            devices.add(Device.cpu(i));
        }
        StrategyContext context = new StrategyContext(config, components, backend, devices, groups, communicator);
        return name.equals("sequential") ? new SequentialStrategyProvider().create(context)
                : new AsyncStrategyProvider().create(context);
    }

    /** The fixture's scheduler with {@code steps} steps set. */
    NoiseScheduler scheduler(int steps) {
        NoiseScheduler scheduler = Samplers.fromConfig(schedulerJson);
        scheduler.setTimesteps(steps);
        return scheduler;
    }

    /** Final latents of {@code steps} steps from seeded noise with classifier-free guidance 5. */
    float[] denoise(ParallelStrategy strategy, int steps, long seed) {
        return denoise(strategy, steps, seed, null);
    }

    /** The same with the per-step inputs of {@code hook} (null: none). */
    float[] denoise(ParallelStrategy strategy, int steps, long seed, StepInputs hook) {
        NoiseScheduler scheduler = scheduler(steps);
        SplittableRandom random = new SplittableRandom(seed);
        float[] noise = new float[config.inChannels() * LATENT * LATENT];
        for (int i = 0; i < noise.length; i++) {
            noise[i] = (float) (random.nextGaussian() * scheduler.initNoiseSigma());
        }
        float[] text = new float[2 * config.sequenceLength() * config.crossAttentionDim()];
        for (int i = 0; i < text.length; i++) {
            text[i] = (float) random.nextGaussian();
        }
        try (Tensor latents = Tensor.ofFloats(noise, 1, config.inChannels(), LATENT, LATENT);
             Tensor context = Tensor.ofFloats(text, 2, config.sequenceLength(), config.crossAttentionDim());
             Tensor result = strategy.denoise(new DenoiseRequest(scheduler, latents,
                     Map.of("encoder_hidden_states", context), Guidance.of(5.0), hook, new SplittableRandom(seed), null,
                     null, null))) {
            return result.toFloatArray();
        }
    }

    static double relativeL2(float[] actual, float[] expected) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            diff += Math.pow(actual[i] - expected[i], 2);
            norm += Math.pow(expected[i], 2);
        }
        return Math.sqrt(diff / norm);
    }

    @Override
    public void close() {
        backend.close();
    }
}
