package dev.asyncdiff.examples.ddpm;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.CancellationToken;
import dev.asyncdiff.api.DenoiseRequest;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.GenerationListener;
import dev.asyncdiff.api.GenerationPhase;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.api.PhaseTimings;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.PipelineContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * diffusers' unconditional {@code DDPMPipeline} / {@code DDIMPipeline} over an exported folder: a
 * pixel-space {@code UNet2DModel} denoises Gaussian noise into images, with the folder's scheduler or any
 * sampler a {@code SamplerProvider} offers, and the UNet run by the context's {@link ParallelStrategy}
 * ({@code sequential}, or AsyncDiff's asynchronous schedule after {@link #setAsyncConfig}).
 *
 * <p>The model is unconditional: the request's prompt and negative prompt are <em>ignored</em>. There is
 * no classifier-free guidance (a guidance scale above 1 is refused) and no image-to-image (an init image
 * is refused). The initial noise is made on the host from the seed alone ({@code seed + i} for image
 * {@code i}), so a seed gives the same images whatever the devices or strategy; stochastic samplers draw
 * from a generator seeded from it too.
 *
 * <p>Ownership: the pipeline owns its context and the strategy it creates; {@link #close()} closes the
 * strategy, then the context. Not thread-safe: one generation at a time.
 */
public final class DdpmPipeline implements DiffusionPipeline {
    /** The family this pipeline reports. */
    public static final String FAMILY = "ddpm";
    private static final long SAMPLER_RNG_SALT = 0x9E3779B97F4A7C15L;

    private final DdpmModelFolder model;
    private final PipelineContext context;
    private final UnetStrategies unet;
    private final String schedulerClass;
    private boolean closed;

    private DdpmPipeline(DdpmModelFolder model, PipelineContext context) {
        this.model = model;
        this.context = context;
        this.unet = new UnetStrategies(context, model.unet());
        this.schedulerClass = JsonFiles.readObject(model.schedulerConfig(),
                "scheduler config (scheduler/scheduler_config.json)").path("_class_name").asText("scheduler");
    }

    /**
     * Opens the DDPM or DDIM folder at {@code modelDir}. The pipeline owns {@code context}; when this
     * method throws, the caller closes it. Nothing is loaded until the first generation, which splits and
     * places the UNet for the configuration.
     *
     * @throws dev.asyncdiff.api.ModelNotFoundException  when the folder or one of its files is missing
     * @throws dev.asyncdiff.api.MalformedModelException when it is not a valid DDPM/DDIM folder
     */
    public static DdpmPipeline open(Path modelDir, PipelineContext context) {
        if (context == null) {
            throw new IllegalArgumentException("a DDPM pipeline needs a pipeline context");
        }
        return new DdpmPipeline(DdpmModelFolder.open(modelDir), context);
    }

    @Override
    public String family() {
        return FAMILY;
    }

    @Override
    public void setAsyncConfig(AsyncConfig config) {
        requireOpen();
        unet.setAsyncConfig(config);
    }

    @Override
    public AsyncConfig asyncConfig() {
        return unet.asyncConfig();
    }

    /**
     * Accepts {@code false} only: an unconditional model runs no guidance branches to put on two device groups.
     *
     * @throws IllegalArgumentException for {@code true}
     */
    @Override
    public void setCfgParallel(boolean value) {
        if (value) {
            throw new IllegalArgumentException("the ddpm pipeline runs unconditional models without classifier-free "
                    + "guidance, so there is nothing to run CFG-parallel (--cfg-parallel)");
        }
    }

    @Override
    public String strategyName() {
        return unet.strategyName();
    }

    /**
     * Generates {@code request.numImages()} unconditional images in one batch. The prompt and negative
     * prompt are ignored; width and height default to the UNet's {@code sample_size}.
     *
     * @throws IllegalArgumentException when the guidance scale is above 1, an init image is given, the size
     *                                  is not a multiple of the UNet's downsampling, or the sampler is unknown
     * @throws java.util.concurrent.CancellationException when the request's token is cancelled
     * @throws dev.asyncdiff.api.AsyncDiffException when the UNet fails to run
     */
    @Override
    public GenerationResult generate(GenerationRequest request) {
        return produce(request).toResult(request.seed());
    }

    /**
     * Generates {@code request.numImages()} images at the tensor level: their final pixel-space samples as the
     * latents {@code [numImages, channels, h, w]} and {@code clamp(x / 2 + 0.5, 0, 1)} of them as the pixels.
     * The prompt is ignored. The caller closes the output.
     *
     * @throws IllegalArgumentException as {@link #generate} does
     */
    @Override
    public PipelineOutput run(GenerationRequest request) {
        return produce(request).toPipelineOutput();
    }

    private DdpmImages produce(GenerationRequest request) {
        requireOpen();
        if (request == null) {
            throw new IllegalArgumentException("a generation request is required");
        }
        refuseConditioning(request);
        int width = request.width() > 0 ? request.width() : model.sampleWidth();
        int height = request.height() > 0 ? request.height() : model.sampleHeight();
        int multiple = model.sizeMultiple();
        if (width % multiple != 0 || height % multiple != 0) {
            throw new IllegalArgumentException("width and height must be multiples of " + multiple + " (the UNet "
                    + "halves the image " + Integer.numberOfTrailingZeros(multiple) + " times), got " + width + "x"
                    + height);
        }
        int batch = request.numImages();
        int channels = model.channels();
        CancellationToken cancellation = request.cancellation();
        GenerationListener listener = request.listener();
        String samplerName = request.scheduler() != null ? request.scheduler() : schedulerClass;

        cancellation.throwIfCancelled();
        long start = System.nanoTime();
        NoiseScheduler scheduler = context.sampler(model.schedulerConfig(), request.scheduler());
        scheduler.setTimesteps(request.steps());
        double[] timesteps = scheduler.timesteps();
        float[] noise = HostNoise.batch(request.seed(), batch, channels * height * width);
        float sigma = (float) scheduler.initNoiseSigma();
        for (int i = 0; i < noise.length; i++) {
            noise[i] *= sigma;
        }
        listener.onPhase(GenerationPhase.DENOISE);
        ParallelStrategy strategy = unet.strategy(batch, channels, height, width);
        UnetContract.check(strategy.denoiserInputs(), model, timesteps, samplerName);
        float[] samples;
        try (Tensor initial = Tensor.ofFloats(noise, batch, channels, height, width);
             Tensor out = strategy.denoise(new DenoiseRequest(scheduler, initial, Map.of(), 1.0,
                     new SplittableRandom(request.seed() ^ SAMPLER_RNG_SALT), listener::onStep, cancellation,
                     timesteps))) {
            samples = out.toFloatArray();
        }
        long denoised = System.nanoTime();
        cancellation.throwIfCancelled();
        listener.onPhase(GenerationPhase.DECODE);
        List<String> parameters = new ArrayList<>(batch);
        for (int i = 0; i < batch; i++) {
            parameters.add(parameters(request, samplerName, width, height, request.seed() + i));
        }
        PhaseTimings timings = new PhaseTimings(Duration.ZERO, Duration.ZERO, Duration.ofNanos(denoised - start),
                Duration.ofNanos(System.nanoTime() - denoised));
        return new DdpmImages(samples, batch, channels, height, width, timesteps.length, timings, parameters);
    }

    /** Refuses what an unconditional pixel-space model cannot do, naming the option. */
    private static void refuseConditioning(GenerationRequest request) {
        Double guidance = request.guidanceScale();
        if (guidance != null && guidance > 1.0) {
            throw new IllegalArgumentException("guidance scale " + guidance + " (guidanceScale, --guidance): the "
                    + "ddpm pipeline runs unconditional models, which have no classifier-free guidance; pass a "
                    + "scale of at most 1 (e.g. --guidance 1) or leave it unset");
        }
        if (request.makesVideo()) {
            throw new IllegalArgumentException("a clip (" + request.kind().id() + ") was asked for, but the ddpm "
                    + "pipeline makes still images only");
        }
        if (request.initImage() != null) {
            throw new IllegalArgumentException("an init image (initImage, --image) was given, but the ddpm pipeline "
                    + "generates from noise only; image-to-image is not supported for unconditional DDPM models");
        }
        if (request.controlled()) {
            throw new IllegalArgumentException("control images were given, but the ddpm pipeline has no ControlNet: "
                    + "it serves text-to-image (from noise) only");
        }
    }

    private String parameters(GenerationRequest request, String sampler, int width, int height, long seed) {
        return String.format(Locale.ROOT, "Steps: %d, Sampler: %s, Seed: %d, Size: %dx%d, Model: %s, Family: %s, "
                + "Strategy: %s", request.steps(), sampler, seed, width, height, model.name(), FAMILY,
                unet.description());
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the ddpm pipeline for " + model.directory() + " is closed");
        }
    }

    /** Closes the strategy, then the context; idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            unet.close();
        } finally {
            context.close();
        }
    }

    @Override
    public String toString() {
        return "DdpmPipeline[" + model.directory() + ", " + model.pipelineClass() + ", " + unet.description() + "]";
    }
}
