package dev.asyncdiff.cli;

import dev.asyncdiff.adapters.sd.GenerationListener;
import dev.asyncdiff.adapters.sd.GenerationPhase;
import dev.asyncdiff.api.StepProgress;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * Draws a generation's progress on stderr: one line per phase, and during denoising a bar redrawn
 * in place ({@code \r}) with the step, the step's phase (warm-up or parallel) and steps per second.
 */
final class ProgressBar implements GenerationListener {
    private static final int WIDTH = 30;
    private final PrintWriter err;
    private boolean barOpen;

    ProgressBar(PrintWriter err) {
        this.err = err;
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
        int filled = progress.total() == 0 ? WIDTH : progress.step() * WIDTH / progress.total();
        double seconds = progress.elapsed().toNanos() / 1e9;
        double rate = seconds > 0 ? progress.step() / seconds : 0;
        err.print(String.format(Locale.ROOT, "\r  [%s%s] %d/%d %-8s %.2f it/s", "#".repeat(filled),
                ".".repeat(WIDTH - filled), progress.step(), progress.total(),
                progress.phase() == StepProgress.Phase.WARM_UP ? "warm-up" : "parallel", rate));
        err.flush();
        barOpen = true;
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
