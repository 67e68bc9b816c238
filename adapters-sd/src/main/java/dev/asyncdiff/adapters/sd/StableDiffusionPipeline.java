package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.adapters.sd.tokenizer.ClipTokenizer;
import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.CancellationToken;
import dev.asyncdiff.api.DenoiseRequest;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TextToImageRequest;
import dev.asyncdiff.onnx.graph.split.GraphSplitter;
import dev.asyncdiff.onnx.graph.split.Link;
import dev.asyncdiff.onnx.graph.split.SplitOptions;
import dev.asyncdiff.onnx.graph.split.UnitCosts;
import dev.asyncdiff.samplers.Samplers;
import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.DenoiserSource;
import dev.asyncdiff.spi.ProviderRegistry;
import dev.asyncdiff.spi.StrategyContext;
import dev.asyncdiff.spi.StrategyProvider;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Stable Diffusion 1.x, 2.x or XL pipeline over an exported ONNX model folder: text-to-image and
 * image-to-image with classifier-free guidance, any sampler of the {@code samplers} module, and the
 * denoiser run by a {@link ParallelStrategy} — {@code sequential} until {@link #setAsyncConfig}
 * (or {@link dev.asyncdiff.api.AsyncDiff#enable}) asks for AsyncDiff's asynchronous schedule.
 *
 * <p>Text encoders and the VAE run on the first device; the strategy places the denoiser's
 * components on the devices its configuration needs, splitting the UNet on first use (the split is
 * cached on disk). The initial noise is made on the host from the seed alone, so a seed gives the
 * same images whatever the devices or strategy.
 *
 * <p>Ownership: the pipeline owns the sessions it loads and its strategy; {@link #close()} releases
 * them and, when it was opened from an {@link AsyncDiffRuntime}, the backend too; a borrowed backend
 * stays the caller's, who closes it after the pipeline. Not thread-safe: one generation at a time.
 */
public final class StableDiffusionPipeline implements DiffusionPipeline {
    private static final Logger LOG = LoggerFactory.getLogger(StableDiffusionPipeline.class);
    private static final long SAMPLER_RNG_SALT = 0x9E3779B97F4A7C15L;
    private static final int CALIBRATION_WARM_UPS = 2;
    private static final int CALIBRATION_RUNS = 5;

    private final ModelFolder model;
    private final Backend backend;
    private final boolean ownsBackend;
    private final List<Device> devices;
    private final ProviderRegistry<StrategyProvider> strategies;
    private final GraphSplitter splitter;
    private final PromptConditioner conditioner;
    private final Vae vae;
    private final String schedulerClass;
    private final Link link;
    private final boolean calibrate;
    private AsyncConfig config = AsyncConfig.SEQUENTIAL;
    private ParallelStrategy strategy;
    private AsyncConfig strategyConfig;
    private boolean cfgParallel;
    private boolean strategyCfgParallel;
    private boolean closed;

    private StableDiffusionPipeline(Builder builder, ModelFolder model) {
        if (model.family() == ModelFamily.SD3) {
            throw new IllegalArgumentException(model.directory() + " is a Stable Diffusion 3 folder; open it with "
                    + "Sd3Pipeline");
        }
        this.model = model;
        this.backend = builder.backend;
        this.ownsBackend = builder.ownsBackend;
        this.devices = List.copyOf(builder.devices);
        this.strategies = builder.strategies != null ? builder.strategies
                : ProviderRegistry.load("strategy", StrategyProvider.class, StableDiffusionPipeline.class.getClassLoader());
        this.splitter = new GraphSplitter(builder.splitCache != null ? builder.splitCache : GraphSplitter.defaultCacheRoot());
        this.link = builder.link;
        this.calibrate = builder.calibrate;
        this.schedulerClass = ModelFolder.readJson(model.schedulerConfig()).path("_class_name").asText("scheduler");
        Device first = devices.get(0);
        List<AutoCloseable> loaded = new ArrayList<>();
        try {
            ClipTokenizer tokenizer = ClipTokenizer.load(model.directory().resolve("tokenizer"));
            TextEncoder encoder = track(loaded, new TextEncoder(model.modelFile("text_encoder"),
                    backend.load(model.modelFile("text_encoder"), first)));
            if (model.family().isXl()) {
                ClipTokenizer tokenizer2 = ClipTokenizer.load(model.directory().resolve("tokenizer_2"));
                TextEncoder encoder2 = track(loaded, new TextEncoder(model.modelFile("text_encoder_2"),
                        backend.load(model.modelFile("text_encoder_2"), first)));
                this.conditioner = new PromptConditioner(tokenizer, encoder, tokenizer2, encoder2,
                        model.forceZerosForEmptyPrompt(), model.sdxlTimeIdCount());
            } else {
                this.conditioner = new PromptConditioner(tokenizer, encoder);
            }
            loaded.clear();
            loaded.add(conditioner);
            this.vae = new Vae(model, backend, first);
        } catch (RuntimeException e) {
            for (AutoCloseable resource : loaded) {
                closeQuietly(resource);
            }
            throw e;
        }
        LOG.info("opened {} pipeline {} ({}) on {}", model.family().id(), model.directory(), model.pipelineClass(),
                devices);
    }

    /** A builder for the model folder at {@code modelDir}. */
    public static Builder builder(Path modelDir) {
        return new Builder(modelDir);
    }

    /**
     * Opens the model folder with the runtime's backend (which the pipeline opens and owns), devices
     * and strategies; the caller closes the pipeline.
     */
    public static StableDiffusionPipeline open(Path modelDir, AsyncDiffRuntime runtime) {
        return builder(modelDir).runtime(runtime).open();
    }

    @Override
    public String family() {
        return model.family().id();
    }

    /** The detected model folder. */
    public ModelFolder model() {
        return model;
    }

    /** The devices this pipeline may use, in order. */
    public List<Device> devices() {
        return devices;
    }

    @Override
    public void setAsyncConfig(AsyncConfig newConfig) {
        requireOpen();
        if (newConfig == null) {
            throw new IllegalArgumentException("async config must not be null; use AsyncConfig.SEQUENTIAL");
        }
        requireDevices(newConfig, cfgParallel);
        this.config = newConfig;
    }

    /**
     * Runs the two halves of classifier-free guidance on two device groups (CFG-parallel), each with
     * the configured schedule: the unconditional half on the first {@code devicesRequired()} devices,
     * the conditional half on the next ones. The images are the same bytes as in one batch.
     *
     * @throws IllegalArgumentException when the pipeline has fewer than twice the devices the
     *                                  configuration needs
     */
    public void setCfgParallel(boolean value) {
        requireOpen();
        requireDevices(config, value);
        this.cfgParallel = value;
    }

    /** Whether guidance runs CFG-parallel on two device groups. */
    public boolean cfgParallel() {
        return cfgParallel;
    }

    private void requireDevices(AsyncConfig wanted, boolean parallelGuidance) {
        int groups = parallelGuidance ? 2 : 1;
        if (wanted.devicesRequired() * groups > devices.size()) {
            throw new IllegalArgumentException((wanted.modelN() == 1 ? "denoising" : "AsyncDiff with model_n "
                    + wanted.modelN() + " and stride " + wanted.stride()) + (parallelGuidance ? " in 2 CFG-parallel groups"
                    : "") + " needs " + wanted.devicesRequired() * groups + " devices, the pipeline has "
                    + devices.size() + " " + devices + " (e.g. --devices cpu:0,cpu:1)");
        }
    }

    @Override
    public AsyncConfig asyncConfig() {
        return config;
    }

    /** The name of the strategy the configuration selects: {@code sequential} or {@code async}. */
    public String strategyName() {
        return config.modelN() == 1 && config.stride() == 1 && !config.timeShift() ? "sequential" : "async";
    }

    /**
     * Runs one generation.
     *
     * @throws IllegalArgumentException when the size is not a multiple of 8 or the sampler is unknown
     * @throws java.util.concurrent.CancellationException when the request's token is cancelled
     * @throws dev.asyncdiff.api.AsyncDiffException when a model fails to run
     */
    public GenerationResult generate(GenerationRequest request) {
        return produce(request).toResult(request.seed());
    }

    /**
     * Runs a text-to-image generation at the tensor level (one image at the request's size, or the
     * model's default): the final latents {@code [1, channels, h, w]} and the decoded pixels
     * {@code [1, 3, height, width]} as {@code clamp(x / 2 + 0.5, 0, 1)} of the decoder's output (NaN
     * stays NaN). The caller closes the output.
     *
     * @throws IllegalArgumentException when the size is not a multiple of 8
     */
    @Override
    public PipelineOutput run(TextToImageRequest request) {
        return produce(Generated.request(request)).toPipelineOutput(vae.latentChannels(), vae.scaleFactor());
    }


    private Generated produce(GenerationRequest request) {
        requireOpen();
        int factor = vae.scaleFactor();
        BufferedImage init = request.initImage();
        int width = request.width() > 0 ? request.width()
                : init != null ? init.getWidth() / factor * factor : model.defaultImageSize();
        int height = request.height() > 0 ? request.height()
                : init != null ? init.getHeight() / factor * factor : model.defaultImageSize();
        if (width <= 0 || height <= 0 || width % factor != 0 || height % factor != 0) {
            throw new IllegalArgumentException("width and height must be positive multiples of " + factor + ", got "
                    + width + "x" + height);
        }
        double guidance = request.guidanceScale() != null ? request.guidanceScale() : model.family().defaultGuidance();
        boolean guided = guidance > 1.0;
        int batch = request.numImages();
        CancellationToken cancellation = request.cancellation();
        GenerationListener listener = request.listener();
        NoiseScheduler scheduler = request.scheduler() == null ? Samplers.fromConfig(model.schedulerConfig())
                : Samplers.fromConfig(model.schedulerConfig(), request.scheduler());
        int latentHeight = height / factor;
        int latentWidth = width / factor;
        int channels = vae.latentChannels();
        int perImage = channels * latentHeight * latentWidth;

        cancellation.throwIfCancelled();
        listener.onPhase(GenerationPhase.ENCODE_TEXT);
        long start = System.nanoTime();
        try (NamedTensors conditioning = conditioner.condition(request.prompt(), request.negativePrompt(), batch,
                guided, height, width)) {
            long textDone = System.nanoTime();
            float[] latents;
            double[] timesteps;
            if (init != null) {
                cancellation.throwIfCancelled();
                listener.onPhase(GenerationPhase.ENCODE_IMAGE);
                float[] encoded = vae.encode(init, width, height);
                float[] initBatch = new float[batch * perImage];
                for (int i = 0; i < batch; i++) {
                    System.arraycopy(encoded, 0, initBatch, i * perImage, perImage);
                }
                // floor(steps × strength) = 0 keeps the image: no denoising step (diffusers refuses this case)
                boolean keep = NoiseScheduler.strengthStartStep(request.steps(), request.strength()) >= request.steps();
                if (keep) {
                    LOG.warn("strength {} with {} steps runs no denoising step (steps x strength < 1): the init "
                            + "image comes back only encoded and decoded; raise the strength or the steps",
                            request.strength(), request.steps());
                }
                timesteps = keep ? new double[0] : scheduler.setTimestepsForStrength(request.steps(), request.strength());
                latents = timesteps.length == 0 ? initBatch : noised(scheduler, initBatch,
                        LatentNoise.batch(request.seed(), batch, perImage), timesteps[0], batch, channels,
                        latentHeight, latentWidth);
            } else {
                scheduler.setTimesteps(request.steps());
                timesteps = scheduler.timesteps();
                latents = LatentNoise.batch(request.seed(), batch, perImage);
                float sigma = (float) scheduler.initNoiseSigma();
                for (int i = 0; i < latents.length; i++) {
                    latents[i] *= sigma;
                }
            }
            long imageDone = init != null ? System.nanoTime() : textDone;
            cancellation.throwIfCancelled();
            listener.onPhase(GenerationPhase.DENOISE);
            float[] denoised = latents;
            if (timesteps.length > 0) {
                ParallelStrategy loop = strategy(latentHeight, latentWidth);
                TimestepContract.check(loop.denoiserInputs(), timesteps,
                        request.scheduler() != null ? request.scheduler() : schedulerClass, model.modelFile("unet"));
                try (Tensor in = Tensor.ofFloats(latents, batch, channels, latentHeight, latentWidth);
                     Tensor out = loop.denoise(new DenoiseRequest(scheduler, in, conditioning.asMap(), guidance,
                             new SplittableRandom(request.seed() ^ SAMPLER_RNG_SALT), listener::onStep, cancellation,
                             timesteps))) {
                    denoised = out.toFloatArray();
                }
            }
            long denoiseDone = System.nanoTime();
            listener.onPhase(GenerationPhase.DECODE);
            List<float[]> pixels = new ArrayList<>(batch);
            List<String> parameters = new ArrayList<>(batch);
            for (int i = 0; i < batch; i++) {
                cancellation.throwIfCancelled();
                pixels.add(vae.decodeToTensorData(denoised, i * perImage, latentHeight, latentWidth));
                // the steps asked for, not those that ran (PNDM's extra PRK step, image-to-image's strength tail):
                // the parameters must regenerate the same image
                parameters.add(parameters(request, guidance, width, height, request.seed() + i, request.steps()));
            }
            long decodeDone = System.nanoTime();
            PhaseTimings timings = new PhaseTimings(Duration.ofNanos(textDone - start),
                    Duration.ofNanos(imageDone - textDone), Duration.ofNanos(denoiseDone - imageDone),
                    Duration.ofNanos(decodeDone - denoiseDone));
            LOG.debug("generated {} image(s) of {}x{} in {}", batch, width, height, timings.summary());
            return new Generated(denoised, pixels, width, height, timesteps.length, timings, parameters);
        }
    }

    private static float[] noised(NoiseScheduler scheduler, float[] original, float[] noise, double timestep, int batch,
                                  int channels, int latentHeight, int latentWidth) {
        try (Tensor clean = Tensor.ofFloats(original, batch, channels, latentHeight, latentWidth);
             Tensor gaussian = Tensor.ofFloats(noise, batch, channels, latentHeight, latentWidth);
             Tensor out = scheduler.addNoise(clean, gaussian, timestep)) {
            return out.toFloatArray();
        }
    }

    private String parameters(GenerationRequest request, double guidance, int width, int height, long seed, int steps) {
        StringBuilder text = new StringBuilder(request.prompt());
        if (!request.negativePrompt().isEmpty()) {
            text.append("\nNegative prompt: ").append(request.negativePrompt());
        }
        text.append(String.format(Locale.ROOT, "\nSteps: %d, Sampler: %s, CFG scale: %s, Seed: %d, Size: %dx%d, "
                        + "Model: %s, Family: %s, Strategy: %s", steps,
                request.scheduler() != null ? request.scheduler() : schedulerClass, guidance, seed, width, height,
                model.directory().getFileName(), model.family().id(), strategyDescription()));
        if (request.imageToImage()) {
            text.append(String.format(Locale.ROOT, ", Denoising strength: %s", request.strength()));
        }
        return text.toString();
    }

    private String strategyDescription() {
        return (strategyName().equals("sequential") ? "sequential" : String.format(Locale.ROOT,
                "async (model_n %d, stride %d, warm-up %d, time shift %s)", config.modelN(), config.stride(),
                config.warmUp(), config.timeShift())) + (cfgParallel ? ", CFG-parallel" : "");
    }

    /** The strategy for the current configuration, created (and the old one closed) when it changed. */
    private ParallelStrategy strategy(int latentHeight, int latentWidth) {
        if (strategy != null && config.equals(strategyConfig) && cfgParallel == strategyCfgParallel) {
            return strategy;
        }
        closeStrategy();
        Path unet = model.modelFile("unet");
        AsyncConfig wanted = config;
        int groups = cfgParallel ? 2 : 1;
        List<Device> used = devices.subList(0, wanted.devicesRequired() * groups);
        List<Device> group = used.subList(0, wanted.devicesRequired());
        DenoiserSource source = parts -> splitter.components(unet, parts, latentHeight, latentWidth,
                splitOptions(unet, group, latentHeight, latentWidth));
        strategy = strategies.get(strategyName()).create(new StrategyContext(wanted, source, backend, used, groups,
                null));
        strategyConfig = wanted;
        strategyCfgParallel = cfgParallel;
        LOG.debug("created strategy {} for {}", strategy.name(), wanted);
        return strategy;
    }

    /**
     * How the UNet is planned for {@code used}: its input shapes from the folder, the link the builder
     * set (else the devices' default), and unit times measured on this backend and device kind when
     * {@code asyncdiff split --calibrate} or {@link Builder#calibrate} stored some.
     */
    private SplitOptions splitOptions(Path unet, List<Device> used, int latentHeight, int latentWidth) {
        SplitOptions options = SplitOptions.forDevices(used)
                .withInputShapes(model.denoiserInputShapes(latentHeight, latentWidth));
        if (link != null) {
            options = options.withLink(link);
        }
        String target = calibrationTarget(backend.name(), used.get(0));
        java.util.Optional<UnitCosts> stored = splitter.storedCalibration(unet, latentHeight, latentWidth, target);
        if (stored.isEmpty() && calibrate) {
            Device device = used.get(0);
            stored = java.util.Optional.of(splitter.calibrate(unet, latentHeight, latentWidth, options,
                    file -> backend.load(file, device), target, CALIBRATION_WARM_UPS, CALIBRATION_RUNS));
        }
        return stored.map(options::withMeasured).orElse(options);
    }

    /** The name unit costs measured with {@code backend} on devices of {@code device}'s kind are stored under. */
    public static String calibrationTarget(String backend, Device device) {
        return backend + " on " + device.kind().name().toLowerCase(Locale.ROOT);
    }

    private void closeStrategy() {
        if (strategy != null) {
            ParallelStrategy old = strategy;
            strategy = null;
            strategyConfig = null;
            old.close();
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("StableDiffusionPipeline for " + model.directory() + " is closed");
        }
    }

    /** Closes the strategy, the text encoders, the VAE and an owned backend; idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            closeStrategy();
        } finally {
            closeQuietly(conditioner);
            closeQuietly(vae);
            if (ownsBackend) {
                closeQuietly(backend);
            }
        }
    }

    private static <T extends AutoCloseable> T track(List<AutoCloseable> loaded, T resource) {
        loaded.add(resource);
        return resource;
    }

    private static void closeQuietly(AutoCloseable resource) {
        try {
            resource.close();
        } catch (Exception e) {
            LOG.warn("closing {} failed: {}", resource, e.toString());
        }
    }

    /** Opens a {@link StableDiffusionPipeline}. Not thread-safe. */
    public static final class Builder {
        private final Path modelDir;
        private Backend backend;
        private boolean ownsBackend;
        private AsyncDiffRuntime runtime;
        private List<Device> devices;
        private ProviderRegistry<StrategyProvider> strategies;
        private Path splitCache;
        private Link link;
        private boolean calibrate;

        private Builder(Path modelDir) {
            this.modelDir = modelDir;
        }

        /** Uses the runtime's backend (opened by the pipeline, which then owns it), devices and strategies. */
        public Builder runtime(AsyncDiffRuntime value) {
            this.runtime = value;
            return this;
        }

        /** Uses {@code value}, which stays the caller's to close after the pipeline. */
        public Builder backend(Backend value) {
            this.backend = value;
            return this;
        }

        /** The devices: text encoders and VAE on the first; the denoiser's components on as many as needed. */
        public Builder devices(List<Device> value) {
            this.devices = value;
            return this;
        }

        /** The strategy providers (default: those on the class path). */
        public Builder strategies(ProviderRegistry<StrategyProvider> value) {
            this.strategies = value;
            return this;
        }

        /** Where denoiser splits are cached (default {@link GraphSplitter#defaultCacheRoot()}). */
        public Builder splitCache(Path value) {
            this.splitCache = value;
            return this;
        }

        /** The link the UNet's components exchange tensors over (default: the devices' own, see {@link Link#defaultFor}). */
        public Builder link(Link value) {
            this.link = value;
            return this;
        }

        /**
         * Whether to time the UNet's units on the first device before its first split, when no timing
         * for this backend and device kind is stored yet, and balance the split on them (default false:
         * use stored timings if any, else the FLOP estimate).
         */
        public Builder calibrate(boolean value) {
            this.calibrate = value;
            return this;
        }

        /**
         * Detects the folder's family and loads the tokenizers, text encoders and VAE decoder.
         *
         * @throws dev.asyncdiff.api.ModelNotFoundException  when the folder is missing
         * @throws dev.asyncdiff.api.MalformedModelException when it is not a complete SD 1.x/2.x/XL folder
         * @throws IllegalStateException                     when neither a backend nor a runtime was given
         */
        public StableDiffusionPipeline open() {
            if (modelDir == null) {
                throw new IllegalArgumentException("a pipeline needs a model folder");
            }
            ModelFolder model = ModelFolder.open(modelDir);
            if (runtime != null) {
                if (devices == null) {
                    devices = runtime.config().devices();
                }
                if (strategies == null) {
                    strategies = runtime.strategies();
                }
                if (backend == null) {
                    backend = runtime.openBackend();
                    ownsBackend = true;
                }
            }
            if (backend == null) {
                throw new IllegalStateException("a pipeline needs a backend or a runtime to open " + modelDir);
            }
            if (devices == null || devices.isEmpty()) {
                devices = List.of(Device.CPU);
            }
            try {
                return new StableDiffusionPipeline(this, model);
            } catch (RuntimeException e) {
                if (ownsBackend) {
                    closeQuietly(backend);
                }
                throw e;
            }
        }
    }
}
