package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.adapters.sd.tokenizer.ClipTokenizer;
import dev.asyncdiff.api.CancellationToken;
import dev.asyncdiff.api.DenoiseRequest;
import dev.asyncdiff.api.GenerationListener;
import dev.asyncdiff.api.GenerationPhase;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.Guidance;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.api.PhaseTimings;
import dev.asyncdiff.api.RequestKind;
import dev.asyncdiff.api.StepInputs;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.PipelineContext;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Stable Diffusion 1.x, 2.x or XL pipeline over an exported ONNX model folder: text-to-image and
 * image-to-image with classifier-free guidance, any sampler a {@code SamplerProvider} offers, and the
 * denoiser run by a {@link ParallelStrategy} — {@code sequential} until {@link #setAsyncConfig}
 * (or {@link dev.asyncdiff.api.AsyncDiff#enable}) asks for AsyncDiff's asynchronous schedule.
 *
 * <p>The {@link PipelineContext} places the text encoders and the VAE, splits the UNet on first use
 * (cached) and runs it with a strategy on the devices the configuration needs; the pipeline never
 * sees devices or backends. The initial noise is made on the host from the seed alone, so a seed
 * gives the same images whatever the devices or strategy.
 *
 * <p>Ownership: the pipeline owns the sessions it loads, its strategy and its context;
 * {@link #close()} releases them. Not thread-safe: one generation at a time.
 */
public final class StableDiffusionPipeline extends ContextPipeline {
    private static final Logger LOG = LoggerFactory.getLogger(StableDiffusionPipeline.class);
    private static final long SAMPLER_RNG_SALT = 0x9E3779B97F4A7C15L;

    private final PromptConditioner conditioner;
    private final Vae vae;
    private final String schedulerClass;
    private final UNetExtension extension;

    private StableDiffusionPipeline(ModelFolder model, PipelineContext context, UNetExtension extension) {
        super(model, context, extension != null ? extension.denoiser() : model.modelFile("unet"));
        this.extension = extension;
        this.schedulerClass = ModelFolder.readJson(model.schedulerConfig()).path("_class_name").asText("scheduler");
        List<AutoCloseable> loaded = new ArrayList<>();
        try {
            ClipTokenizer tokenizer = ClipTokenizer.load(model.directory().resolve("tokenizer"));
            TextEncoder encoder = track(loaded, new TextEncoder(model.modelFile("text_encoder"),
                    context.loadModel(model.modelFile("text_encoder"))));
            if (model.family().isXl()) {
                ClipTokenizer tokenizer2 = ClipTokenizer.load(model.directory().resolve("tokenizer_2"));
                TextEncoder encoder2 = track(loaded, new TextEncoder(model.modelFile("text_encoder_2"),
                        context.loadModel(model.modelFile("text_encoder_2"))));
                this.conditioner = new PromptConditioner(tokenizer, encoder, tokenizer2, encoder2,
                        model.forceZerosForEmptyPrompt(), model.sdxlTimeIdCount());
            } else {
                this.conditioner = new PromptConditioner(tokenizer, encoder);
            }
            loaded.clear();
            loaded.add(conditioner);
            this.vae = new Vae(model, context);
        } catch (RuntimeException e) {
            for (AutoCloseable resource : loaded) {
                closeQuietly(resource);
            }
            throw e;
        }
        LOG.info("opened {} pipeline {} ({})", model.family().id(), model.directory(), model.pipelineClass());
    }

    /**
     * Opens the SD 1.x, 2.x or XL folder at {@code modelDir}: detects its family and loads the
     * tokenizers, text encoders and VAE decoder. The pipeline owns {@code context}; when this method
     * throws, the caller closes it.
     *
     * @throws dev.asyncdiff.api.ModelNotFoundException  when the folder is missing
     * @throws dev.asyncdiff.api.MalformedModelException when it is not a complete SD 1.x/2.x/XL folder
     * @throws IllegalArgumentException                  for a Stable Diffusion 3 or x4 upscaler folder (see
     *                                                  {@link Sd3Pipeline}, {@link UpscalePipeline})
     */
    public static StableDiffusionPipeline open(Path modelDir, PipelineContext context) {
        return open(modelDir, context, null);
    }

    /**
     * Opens the SD 1.x, 2.x or XL folder at {@code modelDir} with an extension (a ControlNet's) that changes its
     * denoiser; the pipeline owns {@code context} and {@code extension}. When this method throws, the caller closes
     * both.
     *
     * @throws dev.asyncdiff.api.ModelNotFoundException  when the folder is missing
     * @throws dev.asyncdiff.api.MalformedModelException when it is not a complete SD 1.x/2.x/XL folder
     */
    public static StableDiffusionPipeline open(Path modelDir, PipelineContext context, UNetExtension extension) {
        if (modelDir == null || context == null) {
            throw new IllegalArgumentException("a pipeline needs a model folder and a context");
        }
        ModelFolder model = ModelFolder.open(modelDir);
        if (model.family() == ModelFamily.SD3 || model.family() == ModelFamily.X4_UPSCALER) {
            throw new IllegalArgumentException(model.directory() + " is a " + model.family().displayName()
                    + " folder; open it with " + (model.family() == ModelFamily.SD3 ? "Sd3Pipeline" : "UpscalePipeline"));
        }
        return new StableDiffusionPipeline(model, context, extension);
    }

    @Override
    public String family() {
        return model.family().id();
    }

    @Override
    protected List<AutoCloseable> models() {
        return extension == null ? List.of(conditioner, vae) : List.of(conditioner, vae, extension);
    }

    @Override
    Vae vae() {
        return vae;
    }

    @Override
    Generated produce(GenerationRequest request) {
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
        NoiseScheduler scheduler = context.sampler(model.schedulerConfig(), request.scheduler());
        int latentHeight = height / factor;
        int latentWidth = width / factor;
        int channels = vae.latentChannels();
        int perImage = channels * latentHeight * latentWidth;
        boolean inpaintingUnet = requireFits(channels);

        cancellation.throwIfCancelled();
        listener.onPhase(GenerationPhase.ENCODE_TEXT);
        long start = System.nanoTime();
        try (NamedTensors conditioning = conditioner.condition(request.prompt(), request.negativePrompt(), batch,
                guided, height, width);
             NamedTensors added = extension == null ? new NamedTensors()
                     : extension.conditioning(request, width, height, guided ? 2 : 1)) {
            long textDone = System.nanoTime();
            StartingLatents origin;
            Inpainting inpainting = null;
            if (init != null) {
                cancellation.throwIfCancelled();
                listener.onPhase(GenerationPhase.ENCODE_IMAGE);
                float[] encoded = vae.encode(init, width, height);
                if (request.inpainting() && request.strength() >= 1.0) {
                    // diffusers' inpainting at full strength starts from pure noise, over every timestep
                    origin = StartingLatents.fromNoise(scheduler, request.steps(), request.seed(), batch, perImage);
                    scheduler.setBeginIndex(0);
                } else {
                    origin = StartingLatents.fromImage(scheduler, encoded, request, batch, channels, latentHeight,
                            latentWidth);
                }
                if (request.inpainting()) {
                    inpainting = Inpainting.prepare(vae, init, request.mask(), encoded, width, height, batch,
                            LatentNoise.batch(request.seed(), batch, perImage));
                }
            } else {
                origin = StartingLatents.fromNoise(scheduler, request.steps(), request.seed(), batch, perImage);
            }
            float[] latents = origin.latents();
            double[] timesteps = origin.timesteps();
            long imageDone = init != null ? System.nanoTime() : textDone;
            cancellation.throwIfCancelled();
            listener.onPhase(GenerationPhase.DENOISE);
            float[] denoised = latents;
            if (timesteps.length > 0) {
                ParallelStrategy loop = denoiser.strategy(latentHeight, latentWidth,
                        () -> inputShapes(width, height, latentHeight, latentWidth));
                TimestepContract.check(loop.denoiserInputs(), timesteps,
                        request.scheduler() != null ? request.scheduler() : schedulerClass, model.modelFile("unet"));
                NoiseScheduler stepping = inpainting != null && !inpaintingUnet
                        ? inpainting.blending(scheduler, timesteps) : scheduler;
                StepInputs stepInputs = extension != null ? extension.stepInputs(request, conditioning)
                        : inpaintingUnet ? inpainting.stepInputs() : null;
                Map<String, Tensor> denoiserConditioning = new LinkedHashMap<>(conditioning.asMap());
                denoiserConditioning.putAll(added.asMap());
                Guidance guiding = Guidance.of(guidance);
                if (request.guessMode() && guiding instanceof Guidance.Classifier classifier) {
                    guiding = classifier.withGuessMode(true);
                }
                try (Tensor in = Tensor.ofFloats(latents, batch, channels, latentHeight, latentWidth);
                     Tensor out = loop.denoise(new DenoiseRequest(stepping, in, denoiserConditioning,
                             guiding, stepInputs, new SplittableRandom(request.seed() ^ SAMPLER_RNG_SALT),
                             listener::onStep, cancellation, timesteps))) {
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

    /**
     * Text-to-image, image-to-image and inpainting (by the blend) for a 4-channel UNet; inpainting alone for a
     * 9-channel one.
     */
    @Override
    public Set<RequestKind> requestKinds() {
        if (extension != null) {
            return extension.requestKinds();
        }
        return model.unetInChannels() == Inpainting.inpaintingChannels(vae.latentChannels())
                ? EnumSet.of(RequestKind.INPAINTING)
                : EnumSet.of(RequestKind.TEXT_TO_IMAGE, RequestKind.IMAGE_TO_IMAGE, RequestKind.INPAINTING);
    }

    /**
     * Whether the UNet is an inpainting one.
     *
     * @throws IllegalArgumentException when the UNet's input channels fit neither kind of UNet
     */
    private boolean requireFits(int latentChannels) {
        int unetChannels = model.unetInChannels();
        boolean inpaintingUnet = unetChannels == Inpainting.inpaintingChannels(latentChannels);
        if (!inpaintingUnet && unetChannels != latentChannels) {
            throw new IllegalArgumentException("the UNet of " + model.directory() + " takes " + unetChannels
                    + " input channels: neither the VAE's " + latentChannels + " latent channels nor an inpainting "
                    + "UNet's " + Inpainting.inpaintingChannels(latentChannels));
        }
        return inpaintingUnet;
    }

    /** The denoiser's input shapes at batch 1: the folder's, and the extension's. */
    private Map<String, long[]> inputShapes(int width, int height, int latentHeight, int latentWidth) {
        Map<String, long[]> shapes = new LinkedHashMap<>(model.denoiserInputShapes(latentHeight, latentWidth));
        if (extension != null) {
            shapes.putAll(extension.inputShapes(width, height));
        }
        return shapes;
    }

    private String parameters(GenerationRequest request, double guidance, int width, int height, long seed, int steps) {
        StringBuilder text = new StringBuilder(request.prompt());
        if (!request.negativePrompt().isEmpty()) {
            text.append("\nNegative prompt: ").append(request.negativePrompt());
        }
        text.append(String.format(Locale.ROOT, "\nSteps: %d, Sampler: %s, CFG scale: %s, Seed: %d, Size: %dx%d, "
                        + "Model: %s, Family: %s, Strategy: %s", steps,
                request.scheduler() != null ? request.scheduler() : schedulerClass, guidance, seed, width, height,
                model.directory().getFileName(), model.family().id(), denoiser.description()));
        if (request.imageToImage()) {
            text.append(String.format(Locale.ROOT, ", Denoising strength: %s", request.strength()));
        }
        if (request.inpainting()) {
            text.append(", Inpainting: masked");
        }
        if (extension != null) {
            text.append(extension.describe(request));
        }
        return text.toString();
    }
}
