/**
 * The monthly assessment (动态考核) as other parts of the server use it: the supervision
 * worker calls `runMonthlyAssessments` in the first days of each month for the month before.
 */
export { runMonthlyAssessments, type RunOptions, type RunSummary } from './service';
export { evaluateAssessment, type AssessmentFacts, type AssessmentInput } from './evaluate';
export { AssessmentRules, DEFAULT_ASSESSMENT_RULES } from './rules';
export { loadAssessmentRules } from './settings';
export { monthOf, monthRange, previousMonth } from './month';
export { registerAssessmentRoutes } from './routes';
