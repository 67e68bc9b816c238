package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.adapters.sd.tokenizer.ClipTokenizer;
import dev.asyncdiff.adapters.sd.tokenizer.T5Tokenizer;
import dev.asyncdiff.api.CancellationToken;
import dev.asyncdiff.api.DenoiseRequest;
import dev.asyncdiff.api.GenerationListener;
import dev.asyncdiff.api.GenerationPhase;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.api.PhaseTimings;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.PipelineContext;
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
 * A Stable Diffusion 3 text-to-image and image-to-image pipeline over an exported folder, as diffusers'
 * {@code StableDiffusion3Pipeline} and {@code StableDiffusion3Img2ImgPipeline} run it: {@link Sd3Conditioner}'s text states and pooled
 * projections, Gaussian latents {@code [n, 16, H/8, W/8]} (not scaled: flow matching starts at
 * sigma 1), the folder's FlowMatchEuler sampler with the transformer fed {@code t = sigma * 1000},
 * classifier-free guidance on the {@code [negative; prompt]} batch, and the VAE decoder on
 * {@code latents / scaling_factor + shift_factor}. Sizes must be multiples of 16 (the VAE's 8 times
 * the patch size 2). Image-to-image encodes the init image to {@code (latents - shift_factor) *
 * scaling_factor} and flow-matches it to the strength's first sigma: {@code sigma * noise + (1 - sigma)
 * * latents}.
 *
 * <p>The transformer runs through a {@link ParallelStrategy}: {@code sequential} until
 * {@link #setAsyncConfig} asks for AsyncDiff, whose components the splitter cuts between the
 * transformer blocks. The {@link PipelineContext} places the text encoders, the VAE and the
 * components.
 *
 * <p>Ownership: the pipeline owns its sessions, strategy and context; {@link #close()} releases
 * them. Not thread-safe: one generation at a time.
 */
public final class Sd3Pipeline extends ContextPipeline {
    /** Latent side is the image's over 8, and the transformer's patches are 2 latents wide. */
    static final int SIZE_MULTIPLE = 16;
    private static final Logger LOG = LoggerFactory.getLogger(Sd3Pipeline.class);
    private static final long SAMPLER_RNG_SALT = 0x9E3779B97F4A7C15L;

    private final Sd3Conditioner conditioner;
    private final Vae vae;

    private Sd3Pipeline(ModelFolder model, PipelineContext context, int maxSequenceLength) {
        super(model, context, "transformer");
        int joint = model.config("transformer").path("joint_attention_dim").asInt(0);
        if (joint <= 0) {
            throw new MalformedModelException(model.directory().resolve("transformer/config.json"),
                    "the transformer config names no positive joint_attention_dim");
        }
        List<AutoCloseable> loaded = new ArrayList<>();
        try {
            TextEncoder clipL = track(loaded, new TextEncoder(model.modelFile("text_encoder"),
                    context.loadModel(model.modelFile("text_encoder"))));
            TextEncoder clipG = track(loaded, new TextEncoder(model.modelFile("text_encoder_2"),
                    context.loadModel(model.modelFile("text_encoder_2"))));
            T5Tokenizer t5Tokenizer = null;
            T5TextEncoder t5 = null;
            if (model.hasT5()) {
                t5Tokenizer = T5Tokenizer.load(model.directory().resolve("tokenizer_3"));
                t5 = track(loaded, new T5TextEncoder(model.modelFile("text_encoder_3"),
                        context.loadModel(model.modelFile("text_encoder_3")), joint));
            } else {
                LOG.info("{} has no text_encoder_3; conditioning on zeros in place of T5's states", model.directory());
            }
            this.conditioner = new Sd3Conditioner(ClipTokenizer.load(model.directory().resolve("tokenizer")), clipL,
                    ClipTokenizer.load(model.directory().resolve("tokenizer_2")), clipG, t5Tokenizer, t5, joint,
                    maxSequenceLength);
            loaded.clear();
            loaded.add(conditioner);
            this.vae = new Vae(model, context);
        } catch (RuntimeException e) {
            loaded.forEach(Sd3Pipeline::closeQuietly);
            throw e;
        }
        LOG.info("opened sd3 pipeline {}", model.directory());
    }

    /**
     * Opens the SD 3 folder at {@code modelDir} with T5's default {@code max_sequence_length} 256.
     *
     * @see #open(Path, PipelineContext, int)
     */
    public static Sd3Pipeline open(Path modelDir, PipelineContext context) {
        return open(modelDir, context, T5Tokenizer.DEFAULT_MAX_SEQUENCE_LENGTH);
    }

    /**
     * Opens the SD 3 folder at {@code modelDir}; the pipeline owns {@code context}, and when this
     * method throws the caller closes it.
     *
     * @param maxSequenceLength T5's token count (diffusers' {@code max_sequence_length})
     * @throws IllegalArgumentException when the folder is not an SD 3 folder
     * @throws dev.asyncdiff.api.ModelNotFoundException  when the folder is missing
     * @throws MalformedModelException when files are missing or a model breaks its contract
     */
    public static Sd3Pipeline open(Path modelDir, PipelineContext context, int maxSequenceLength) {
        if (modelDir == null || context == null) {
            throw new IllegalArgumentException("an SD 3 pipeline needs a model folder and a context");
        }
        ModelFolder model = ModelFolder.open(modelDir);
        if (model.family() != ModelFamily.SD3) {
            throw new IllegalArgumentException(modelDir + " is a " + model.family().displayName() + " folder ("
                    + model.pipelineClass() + "), not Stable Diffusion 3");
        }
        return new Sd3Pipeline(model, context, maxSequenceLength);
    }

    @Override
    public String family() {
        return ModelFamily.SD3.id();
    }

    @Override
    protected List<AutoCloseable> models() {
        return List.of(conditioner, vae);
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
                : init != null ? init.getWidth() / SIZE_MULTIPLE * SIZE_MULTIPLE : model.defaultImageSize();
        int height = request.height() > 0 ? request.height()
                : init != null ? init.getHeight() / SIZE_MULTIPLE * SIZE_MULTIPLE : model.defaultImageSize();
        if (width <= 0 || height <= 0 || width % SIZE_MULTIPLE != 0 || height % SIZE_MULTIPLE != 0) {
            throw new IllegalArgumentException("Stable Diffusion 3 needs width and height that are positive multiples"
                    + " of " + SIZE_MULTIPLE + " (VAE factor 8 times patch size 2), got " + width + "x" + height);
        }
        double guidance = request.guidanceScale() != null ? request.guidanceScale()
                : ModelFamily.SD3.defaultGuidance();
        boolean guided = guidance > 1.0;
        int batch = request.numImages();
        CancellationToken cancellation = request.cancellation();
        GenerationListener listener = request.listener();
        NoiseScheduler scheduler = context.sampler(model.schedulerConfig(), request.scheduler());
        int latentHeight = height / factor;
        int latentWidth = width / factor;
        int channels = vae.latentChannels();
        int perImage = channels * latentHeight * latentWidth;

        cancellation.throwIfCancelled();
        listener.onPhase(GenerationPhase.ENCODE_TEXT);
        long start = System.nanoTime();
        try (NamedTensors conditioning = conditioner.condition(request.prompt(), request.negativePrompt(), batch,
                guided)) {
            long textDone = System.nanoTime();
            StartingLatents origin;
            if (init != null) {
                cancellation.throwIfCancelled();
                listener.onPhase(GenerationPhase.ENCODE_IMAGE);
                origin = StartingLatents.fromImage(scheduler, vae.encode(init, width, height), request, batch, channels,
                        latentHeight, latentWidth);
            } else {
                origin = StartingLatents.fromNoise(scheduler, request.steps(), request.seed(), batch, perImage);
            }
            double[] timesteps = origin.timesteps();
            long imageDone = init != null ? System.nanoTime() : textDone;
            cancellation.throwIfCancelled();
            listener.onPhase(GenerationPhase.DENOISE);
            float[] denoised = origin.latents();
            if (timesteps.length > 0) {
                try (Tensor in = Tensor.ofFloats(origin.latents(), batch, channels, latentHeight, latentWidth);
                     Tensor out = denoiser.strategy(latentHeight, latentWidth,
                             () -> model.denoiserInputShapes(latentHeight, latentWidth)).denoise(new DenoiseRequest(scheduler,
                             in, conditioning.asMap(), guidance, new SplittableRandom(request.seed() ^ SAMPLER_RNG_SALT),
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
                // the steps asked for, not those that ran (image-to-image runs the strength's tail)
                parameters.add(parameters(request, guidance, width, height, request.seed() + i, request.steps()));
            }
            long decodeDone = System.nanoTime();
            PhaseTimings timings = new PhaseTimings(Duration.ofNanos(textDone - start),
                    Duration.ofNanos(imageDone - textDone), Duration.ofNanos(denoiseDone - imageDone),
                    Duration.ofNanos(decodeDone - denoiseDone));
            return new Generated(denoised, pixels, width, height, timesteps.length, timings, parameters);
        }
    }

    private String parameters(GenerationRequest request, double guidance, int width, int height, long seed, int steps) {
        StringBuilder text = new StringBuilder(request.prompt());
        if (!request.negativePrompt().isEmpty()) {
            text.append("\nNegative prompt: ").append(request.negativePrompt());
        }
        text.append(String.format(Locale.ROOT, "\nSteps: %d, Sampler: %s, CFG scale: %s, Seed: %d, Size: %dx%d, "
                        + "Model: %s, Family: sd3, Strategy: %s", steps,
                request.scheduler() != null ? request.scheduler() : "FlowMatchEulerDiscreteScheduler", guidance, seed,
                width, height, model.directory().getFileName(), denoiser.description()));
        if (request.imageToImage()) {
            text.append(String.format(Locale.ROOT, ", Denoising strength: %s", request.strength()));
        }
        return text.toString();
    }
}
