package dev.asyncdiff.cli;

import dev.asyncdiff.api.GenerationListener;
import dev.asyncdiff.api.GenerationPhase;
import dev.asyncdiff.api.StepProgress;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * Draws a generation's progress on stderr: one line per phase, and during denoising a bar with the
 * step, the step's phase (warm-up or parallel) and steps per second — redrawn in place ({@code \r})
 * on a terminal, else printed as a line every tenth of the steps so that logs stay readable.
 */
final class ProgressBar implements GenerationListener {
    private static final int WIDTH = 30;
    private final PrintWriter err;
    private final boolean interactive;
    private boolean barOpen;

    /** A bar on {@code err}, redrawn in place when {@code interactive} (a terminal). */
    ProgressBar(PrintWriter err, boolean interactive) {
        this.err = err;
        this.interactive = interactive;
    }

    @Override
    public void onPhase(GenerationPhase phase) {
        closeBar();
        err.println("asyncdiff: " + switch (phase) {
            case ENCODE_TEXT -> "encoding the prompts …";
            case ENCODE_IMAGE -> "encoding the init image …";
            case DENOISE -> "denoising …";
            case DECODE -> "decoding …";
        });
        err.flush();
    }

    @Override
    public void onStep(StepProgress progress) {
        int every = Math.max(1, progress.total() / 10);
        if (!interactive && progress.step() % every != 0 && progress.step() != progress.total()) {
            return;
        }
        int filled = progress.total() == 0 ? WIDTH : progress.step() * WIDTH / progress.total();
        double seconds = progress.elapsed().toNanos() / 1e9;
        double rate = seconds > 0 ? progress.step() / seconds : 0;
        err.print(String.format(Locale.ROOT, "%s  [%s%s] %d/%d %-8s %.2f it/s", interactive ? "\r" : "",
                "#".repeat(filled),
                ".".repeat(WIDTH - filled), progress.step(), progress.total(),
                progress.phase() == StepProgress.Phase.WARM_UP ? "warm-up" : "parallel", rate));
        if (interactive) {
            barOpen = true;
        } else {
            err.println();
        }
        err.flush();
    }

    /** One line per decoded chunk of a clip's frames. */
    @Override
    public void onFramesDecoded(int decoded, int total) {
        closeBar();
        err.println(String.format(Locale.ROOT, "asyncdiff: decoded %d/%d frames", decoded, total));
        err.flush();
    }

    /** Ends the bar's line, if one is drawn. */
    void closeBar() {
        if (barOpen) {
            err.println();
            err.flush();
            barOpen = false;
        }
    }
}
