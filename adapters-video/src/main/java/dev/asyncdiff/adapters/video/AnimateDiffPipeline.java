package dev.asyncdiff.adapters.video;

import dev.asyncdiff.adapters.sd.LatentNoise;
import dev.asyncdiff.adapters.sd.PromptConditioner;
import dev.asyncdiff.adapters.sd.TimestepContract;
import dev.asyncdiff.adapters.sd.Vae;
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
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.PipelineContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * AnimateDiff text-to-video, as diffusers' {@code AnimateDiffPipeline}: the SD 1.5 base's CLIP text conditioning
 * (one embedding per clip; the motion UNet repeats it per frame), Gaussian latents {@code [clips, 4, frames, h, w]},
 * the UNet with motion modules under classifier-free guidance, the folder's sampler (DDIM with linear betas, as
 * AnimateDiff's example), and the SD VAE decoding {@code decodeChunkSize} frames per call (each frame on its own, so
 * the chunk bounds memory without changing the frames). Every strategy runs the UNet, split or whole.
 */
public final class AnimateDiffPipeline extends VideoPipeline {
    private static final Logger LOG = LoggerFactory.getLogger(AnimateDiffPipeline.class);
    private static final long SAMPLER_RNG_SALT = 0x9E3779B97F4A7C15L;

    private final PromptConditioner conditioner;
    private final Vae vae;
    private final String schedulerClass;

    private AnimateDiffPipeline(VideoFolder folder, PipelineContext context) {
        super(folder, context);
        this.schedulerClass = folder.schedulerClass();
        this.conditioner = PromptConditioner.clip(folder.sdView(), context);
        try {
            this.vae = new Vae(folder.sdView(), context);
        } catch (RuntimeException e) {
            closeQuietly(conditioner);
            throw e;
        }
        LOG.info("opened {} {}", folder.family().displayName(), folder.directory());
    }

    /**
     * Opens the AnimateDiff folder at {@code modelDir}. The pipeline owns {@code context}; when this method throws,
     * the caller closes it.
     *
     * @throws dev.asyncdiff.api.ModelNotFoundException  when the folder is missing
     * @throws dev.asyncdiff.api.MalformedModelException when it is not a complete AnimateDiff folder
     * @throws IllegalArgumentException                  when it is another family's folder
     */
    public static AnimateDiffPipeline open(Path modelDir, PipelineContext context) {
        VideoFolder folder = VideoFolder.open(modelDir, VideoFamily.ANIMATEDIFF);
        return new AnimateDiffPipeline(folder, context);
    }

    @Override
    protected List<AutoCloseable> models() {
        return List.of(conditioner, vae);
    }

    @Override
    Clips produce(GenerationRequest request) {
        int width = request.width() > 0 ? request.width() : folder.defaultImageSize();
        int height = request.height() > 0 ? request.height() : folder.defaultImageSize();
        checkSize(width, height, "the requested size");
        int frames = frames(request);
        double guidance = request.guidanceScale() != null ? request.guidanceScale()
                : VideoFamily.ANIMATEDIFF.defaultGuidance();
        boolean guided = guidance > 1.0;
        int clips = request.numImages();
        int factor = vae.scaleFactor();
        int h = height / factor;
        int w = width / factor;
        int channels = vae.latentChannels();
        CancellationToken cancellation = request.cancellation();
        GenerationListener listener = request.listener();

        cancellation.throwIfCancelled();
        listener.onPhase(GenerationPhase.ENCODE_TEXT);
        long start = System.nanoTime();
        String sampler = request.scheduler() != null ? request.scheduler() : schedulerClass;
        float[] denoised;
        long textDone;
        try (NamedTensors conditioning = conditioner.condition(request.prompt(), request.negativePrompt(), clips,
                guided, height, width)) {
            textDone = System.nanoTime();
            NoiseScheduler scheduler = context.sampler(folder.sdView().schedulerConfig(), request.scheduler());
            scheduler.setTimesteps(request.steps());
            double[] timesteps = scheduler.timesteps();
            float[] latents = LatentNoise.batch(request.seed(), clips, channels * frames * h * w);
            float sigma = (float) scheduler.initNoiseSigma();
            for (int i = 0; i < latents.length; i++) {
                latents[i] *= sigma;
            }
            cancellation.throwIfCancelled();
            listener.onPhase(GenerationPhase.DENOISE);
            ParallelStrategy loop = denoiser.strategy(h, w, frames, () -> folder.denoiserInputShapes(frames, h, w));
            TimestepContract.check(loop.denoiserInputs(), timesteps, sampler, folder.modelFile("unet"));
            try (Tensor in = Tensor.ofFloats(latents, clips, channels, frames, h, w);
                 Tensor out = loop.denoise(new DenoiseRequest(scheduler, in, conditioning.asMap(),
                         Guidance.of(guidance), null, new SplittableRandom(request.seed() ^ SAMPLER_RNG_SALT),
                         listener::onStep, cancellation, timesteps))) {
                denoised = out.toFloatArray();
            }
        }
        long denoiseDone = System.nanoTime();

        listener.onPhase(GenerationPhase.DECODE);
        int plane = h * w;
        int chunk = request.video().decodeChunkSize() > 0 ? request.video().decodeChunkSize() : frames;
        List<float[]> decoded = new ArrayList<>(clips * frames);
        List<String> parameters = new ArrayList<>(clips);
        for (int clip = 0; clip < clips; clip++) {
            for (int first = 0; first < frames; first += chunk) {
                cancellation.throwIfCancelled();
                int count = Math.min(chunk, frames - first);
                // [4, F, h, w] of the clip to [count, 4, h, w] for the frame-wise VAE
                float[] frameLatents = new float[count * channels * plane];
                for (int f = 0; f < count; f++) {
                    for (int c = 0; c < channels; c++) {
                        System.arraycopy(denoised, ((clip * channels + c) * frames + first + f) * plane, frameLatents,
                                (f * channels + c) * plane, plane);
                    }
                }
                decoded.addAll(vae.decodeBatch(frameLatents, 0, count, h, w));
                listener.onFramesDecoded(clip * frames + first + count, clips * frames);
            }
            parameters.add(parameters(request, sampler, guidance, width, height, frames, request.seed() + clip));
        }
        long decodeDone = System.nanoTime();
        PhaseTimings timings = new PhaseTimings(Duration.ofNanos(textDone - start), Duration.ZERO,
                Duration.ofNanos(denoiseDone - textDone), Duration.ofNanos(decodeDone - denoiseDone));
        LOG.debug("made {} clip(s) of {} frames at {}x{} in {}", clips, frames, width, height, timings.summary());
        return new Clips(denoised, new long[] {clips, channels, frames, h, w}, decoded, width, height, frames,
                request.video().fps(), request.steps(), timings, parameters);
    }

    private String parameters(GenerationRequest request, String sampler, double guidance, int width, int height,
                              int frames, long seed) {
        StringBuilder text = new StringBuilder(request.prompt());
        if (!request.negativePrompt().isEmpty()) {
            text.append("\nNegative prompt: ").append(request.negativePrompt());
        }
        text.append(String.format(Locale.ROOT, "%nSteps: %d, Sampler: %s, CFG scale: %s, Seed: %d, Size: %dx%d, "
                        + "Frames: %d, FPS: %s, Model: %s, Family: %s, Strategy: %s", request.steps(), sampler,
                guidance, seed, width, height, frames, request.video().fps(), folder.directory().getFileName(),
                family(), denoiser.description()));
        return text.toString();
    }
}
